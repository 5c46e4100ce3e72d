/**
 * Where the console's API calls go: the directory of the page's URL, without its trailing slash. Served at
 * `https://flags.example.com/` that is the server itself; behind a proxy at `https://example.com/pennant/` it is
 * `https://example.com/pennant`, so every call keeps the proxy's prefix.
 */
export function consoleBaseUrl(pageUrl: string): string {
  return new URL(".", pageUrl).href.replace(/\/+$/, "");
}
