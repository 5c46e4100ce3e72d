import { ValidationError } from "../../domain/errors.js";
import type { OciDescriptor, OciManifest, OciPlatform } from "./oci-descriptor.js";

/**
 * Decodes a manifest's JSON into image-spec's manifest struct as Go's `json.Unmarshal` does for what bundles hold:
 * unknown fields dropped, descriptor fields type-checked. `what` names the manifest in errors (a reference, a
 * digest). Throws a ValidationError when it is not JSON or not shaped like a manifest.
 */
export function parseOciManifest(bytes: Uint8Array, what: string): OciManifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ValidationError(`manifest ${what} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const fail = (message: string): never => {
    throw new ValidationError(`manifest ${what}: ${message}`);
  };
  if (!isObject(value)) return fail("not a JSON object");
  const layers = value.layers ?? [];
  if (!Array.isArray(layers)) return fail("layers is not a list");
  if (value.config === undefined) return fail("config is missing");
  return {
    schemaVersion:
      typeof value.schemaVersion === "number" ? value.schemaVersion : fail("schemaVersion is not a number"),
    ...optionalString(value, "mediaType", fail),
    ...optionalString(value, "artifactType", fail),
    config: descriptor(value.config, "config", fail),
    layers: layers.map((layer, index) => descriptor(layer, `layers[${index}]`, fail)),
    ...(value.subject === undefined || value.subject === null
      ? {}
      : { subject: descriptor(value.subject, "subject", fail) }),
    ...annotations(value.annotations, "annotations", fail),
  };
}

type Fail = (message: string) => never;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(object: Record<string, unknown>, key: string, fail: Fail): Record<string, string> {
  const value = object[key];
  if (value === undefined || value === null || value === "") return {};
  if (typeof value !== "string") return fail(`${key} is not a string`);
  return { [key]: value };
}

function annotations(value: unknown, path: string, fail: Fail): { annotations?: Record<string, string> } {
  if (value === undefined || value === null) return {};
  if (!isObject(value) || Object.values(value).some((item) => typeof item !== "string")) {
    return fail(`${path} is not a map of strings`);
  }
  return { annotations: value as Record<string, string> };
}

function descriptor(value: unknown, path: string, fail: Fail): OciDescriptor {
  if (!isObject(value)) return fail(`${path} is not a descriptor`);
  const { digest, size, urls, data, platform } = value;
  if (typeof digest !== "string") return fail(`${path}.digest is not a string`);
  if (typeof size !== "number" || !Number.isSafeInteger(size)) return fail(`${path}.size is not an integer`);
  const mediaType = value.mediaType ?? "";
  if (typeof mediaType !== "string") return fail(`${path}.mediaType is not a string`);
  if (
    urls !== undefined &&
    urls !== null &&
    (!Array.isArray(urls) || urls.some((u) => typeof u !== "string"))
  ) {
    return fail(`${path}.urls is not a list of strings`);
  }
  if (data !== undefined && data !== null && typeof data !== "string")
    return fail(`${path}.data is not base64`);
  return {
    mediaType,
    digest,
    size,
    ...(Array.isArray(urls) && urls.length > 0 ? { urls: urls as string[] } : {}),
    ...annotations(value.annotations, `${path}.annotations`, fail),
    ...(typeof data === "string" && data !== "" ? { data } : {}),
    ...(isObject(platform) ? { platform: platform as unknown as OciPlatform } : {}),
    ...optionalString(value, "artifactType", fail),
  };
}
