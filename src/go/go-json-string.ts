/**
 * A string as Go's `encoding/json` writes it: JSON's escapes, plus `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes
 * (HTML-safe escaping, on by default in `json.Marshal`).
 */
export function goJsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (char) => {
    return `\\u${(char.codePointAt(0) as number).toString(16).padStart(4, "0")}`;
  });
}
