import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface VirtualListProps<T> {
  readonly items: readonly T[];
  /** Every row's height in pixels (rows are laid out at fixed positions). */
  readonly rowHeight: number;
  readonly label: string;
  readonly itemKey: (item: T) => string;
  readonly renderItem: (item: T, index: number) => ComponentChildren;
  /** Rows rendered beyond the visible ones, above and below, so keyboard focus can move on. */
  readonly overscan?: number;
}

/** The height assumed before the scroller has been measured: enough rows for a tall first screen. */
const FIRST_VIEWPORT_PX = 1200;

/**
 * A list that renders only the rows in view (and a few around them): 10 000 flags cost what 30 do. The scroller
 * is a list (`role="list"`) whose items carry their position and the total, so assistive technology still says
 * "item 5 000 of 10 000"; Tab moves through the rendered rows and scrolls the next ones in.
 */
export function VirtualList<T>({
  items,
  rowHeight,
  label,
  itemKey,
  renderItem,
  overscan = 8,
}: VirtualListProps<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(FIRST_VIEWPORT_PX);

  useEffect(() => {
    const element = scroller.current;
    if (element === null) return;
    const measure = () => setViewport(element.clientHeight || FIRST_VIEWPORT_PX);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A shorter list (a new filter) must not leave the scroller past its end.
  useEffect(() => {
    const element = scroller.current;
    if (element !== null && element.scrollTop > items.length * rowHeight) {
      element.scrollTop = 0;
      setScrollTop(0);
    }
  }, [items, rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  const rows: ComponentChildren[] = [];
  for (let index = first; index < last; index++) {
    const item = items[index] as T;
    rows.push(
      <li
        key={itemKey(item)}
        class="virtual-row"
        style={{ transform: `translateY(${index * rowHeight}px)`, height: `${rowHeight}px` }}
        aria-setsize={items.length}
        aria-posinset={index + 1}
      >
        {renderItem(item, index)}
      </li>,
    );
  }
  return (
    <div
      class="virtual-scroller"
      ref={scroller}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
    >
      <ul class="virtual-list" aria-label={label} style={{ height: `${items.length * rowHeight}px` }}>
        {rows}
      </ul>
    </div>
  );
}
