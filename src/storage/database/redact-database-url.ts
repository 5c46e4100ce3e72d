/** What stands in for a removed secret, as Go's `url.URL.Redacted` writes it. */
const MASK = "xxxxx";

/**
 * A database URL fit for messages and logs: the password of `user:password@` and the value of an `authToken`
 * (or `password`) query parameter replaced by `xxxxx`. Works on text that is not a valid URL too, so that
 * a malformed URL cannot leak its password through the error that reports it.
 */
export function redactDatabaseUrl(url: string): string {
  return url
    .replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@]*?:)[^/?#]*@/, `$1${MASK}@`)
    .replace(/([?&](?:authToken|auth_token|password)=)[^&#]*/gi, `$1${MASK}`);
}
