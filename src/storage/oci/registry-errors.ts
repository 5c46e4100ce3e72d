/**
 * What the OCI distribution API says when it refuses something, read from its error body
 * (`{"errors":[{"code","message","detail"}]}`), and the one refusal that needs advice: a registry that does not
 * take an OCI 1.1 manifest (`artifactType`, an empty-JSON config with `data`), which Flipt's `manifest_version: "1.0"`
 * is for. Messages name the registry and repository and never a credential.
 */
import { ValidationError } from "../../domain/errors.js";

/** One entry of a registry's error body. */
export interface RegistryErrorEntry {
  readonly code: string;
  readonly message: string;
}

/** The entries of a registry error body, or none when the body is not one (HTML from a proxy, empty). */
export function parseRegistryErrors(body: string): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null) return [];
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  const entries: RegistryErrorEntry[] = [];
  for (const entry of errors) {
    if (typeof entry !== "object" || entry === null) continue;
    const { code, message } = entry as { code?: unknown; message?: unknown };
    entries.push({
      code: typeof code === "string" ? code : "UNKNOWN",
      message: typeof message === "string" ? message : "",
    });
  }
  return entries;
}

/** `CODE: message; CODE: message`, short enough for a status line; "" when there are none. */
export function describeRegistryErrors(entries: readonly RegistryErrorEntry[]): string {
  return entries
    .slice(0, 3)
    .map((entry) => (entry.message === "" ? entry.code : `${entry.code}: ${entry.message}`.slice(0, 300)))
    .join("; ");
}

/** The advice given when a registry refuses a manifest that uses OCI 1.1 features. */
export const MANIFEST_VERSION_HINT =
  'the registry may not support OCI 1.1 manifests (artifactType); set manifest_version: "1.0" ' +
  "(FLIPT_STORAGE_OCI_MANIFEST_VERSION=1.0) to push a manifest it accepts";

/** Error codes with which registries refuse a manifest's content or media type, as opposed to a missing blob. */
const MANIFEST_REFUSAL_CODES = new Set(["MANIFEST_INVALID", "UNSUPPORTED", "MANIFEST_UNVERIFIED", "UNKNOWN"]);

/**
 * Whether a refused manifest PUT looks like the registry not taking the manifest's format (rather than, say, a
 * blob it does not have): HTTP 415, or 400 with one of the refusal codes or a message about media or artifact types.
 */
export function isManifestFormatRefusal(status: number, entries: readonly RegistryErrorEntry[]): boolean {
  if (status === 415) return true;
  if (status !== 400) return false;
  if (entries.some((entry) => entry.code === "MANIFEST_BLOB_UNKNOWN" || entry.code === "BLOB_UNKNOWN")) {
    return false;
  }
  if (entries.length === 0) return true;
  return entries.some(
    (entry) =>
      MANIFEST_REFUSAL_CODES.has(entry.code) ||
      /artifact ?type|media ?type|schema/i.test(`${entry.code} ${entry.message}`),
  );
}

/** Whether a manifest's JSON uses OCI 1.1's `artifactType` (what `manifest_version: "1.0"` leaves out). */
export function usesArtifactType(manifest: Uint8Array): boolean {
  try {
    const parsed = JSON.parse(Buffer.from(manifest).toString("utf8")) as { artifactType?: unknown };
    return typeof parsed.artifactType === "string";
  } catch {
    return false;
  }
}

/**
 * A registry refused a manifest for its format. `manifestVersionHint` is set when the manifest used OCI 1.1
 * features, and the message then says to set `manifest_version: "1.0"`.
 */
export class RegistryManifestRefusedError extends ValidationError {
  override readonly name: string = "RegistryManifestRefusedError";
  readonly manifestVersionHint: boolean;

  constructor(message: string, manifestVersionHint: boolean) {
    super(message);
    this.manifestVersionHint = manifestVersionHint;
  }
}
