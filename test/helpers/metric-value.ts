/** The value of the series `name{labels}` in a Prometheus scrape (`labels` as written, `{cache="redis"}`); 0 when absent. */
export function metricValue(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}
