import { useEffect } from "preact/hooks";

/** Sets the tab's title to "<title> · Pennant" while the page is shown. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Pennant`;
  }, [title]);
}
