import { readFileSync } from "node:fs";

/** Pennant's version, from package.json (one level above both src/ and dist/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** The commit built and when (RFC 3339), as `npm run build` recorded them; empty when run from source. */
export interface BuildStamp {
  readonly commit: string;
  readonly buildDate: string;
}

/** Reads `build-info.json` beside this module (in dist/ after a build); empty fields when it is missing. */
export function readBuildStamp(url: URL = new URL("./build-info.json", import.meta.url)): BuildStamp {
  try {
    const stamp = JSON.parse(readFileSync(url, "utf8")) as Partial<BuildStamp>;
    return { commit: String(stamp.commit ?? ""), buildDate: String(stamp.buildDate ?? "") };
  } catch {
    return { commit: "", buildDate: "" };
  }
}
