import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago": how long ago `date` was, from `now`. */
export function formatAgo(date: Date, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** A timestamp from the server as local date and time, with how long ago; "never" when unset. */
export function formatTimestamp(timestamp: Timestamp | undefined, now: number = Date.now()): string {
  if (timestamp === undefined) return "never";
  const date = timestampDate(timestamp);
  return `${date.toLocaleString()} (${formatAgo(date, now)})`;
}

/** The first 8 characters of a revision, as git abbreviates commits. */
export function shortRevision(revision: string): string {
  return revision.length > 12 ? revision.slice(0, 8) : revision;
}
