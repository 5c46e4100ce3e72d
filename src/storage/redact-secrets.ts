/** Non-empty, distinct secrets, longest first, so that a secret containing another is removed whole. */
export function secretList(values: Iterable<string>): readonly string[] {
  return [...new Set([...values].filter((value) => value !== ""))].sort((a, b) => b.length - a.length);
}

/** `text` with each of `secrets` (as `secretList` orders them) replaced by `[redacted]`. */
export function redactSecretValues(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const secret of secretList(secrets)) result = result.split(secret).join("[redacted]");
  return result;
}
