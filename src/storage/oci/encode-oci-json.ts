import { goJsonString } from "../../go/go-json-string.js";
import { compareBytes, goJsonObject } from "./encode-go-json.js";
import type { OciDescriptor, OciIndex, OciManifest, OciPlatform } from "./oci-descriptor.js";

/**
 * OCI manifests and indexes as Go's `json.Marshal` writes image-spec v1.1.1's structs (what oras writes): fields in
 * struct order (manifest: `schemaVersion, mediaType, artifactType, config, layers, subject, annotations`;
 * descriptor: `mediaType, digest, size, urls, annotations, data, platform, artifactType`), `omitempty` fields left
 * out when empty, annotation keys sorted, compact. Flipt's change digest and the digests of manifests Pennant
 * builds depend on these exact bytes.
 */
export function encodeOciManifest(manifest: OciManifest): string {
  return goJsonObject([
    ["schemaVersion", String(manifest.schemaVersion)],
    ["mediaType", optionalString(manifest.mediaType)],
    ["artifactType", optionalString(manifest.artifactType)],
    ["config", encodeOciDescriptor(manifest.config)],
    ["layers", `[${manifest.layers.map(encodeOciDescriptor).join(",")}]`],
    ["subject", manifest.subject === undefined ? undefined : encodeOciDescriptor(manifest.subject)],
    ["annotations", annotations(manifest.annotations)],
  ]);
}

/** An image index (a local layout's `index.json`) in Go's field order; see `encodeOciManifest`. */
export function encodeOciIndex(index: OciIndex): string {
  return goJsonObject([
    ["schemaVersion", String(index.schemaVersion)],
    ["mediaType", optionalString(index.mediaType)],
    ["artifactType", optionalString(index.artifactType)],
    ["manifests", `[${index.manifests.map(encodeOciDescriptor).join(",")}]`],
    ["subject", index.subject === undefined ? undefined : encodeOciDescriptor(index.subject)],
    ["annotations", annotations(index.annotations)],
  ]);
}

/** A descriptor in Go's field order. */
export function encodeOciDescriptor(descriptor: OciDescriptor): string {
  return goJsonObject([
    ["mediaType", goJsonString(descriptor.mediaType)],
    ["digest", goJsonString(descriptor.digest)],
    ["size", String(descriptor.size)],
    ["urls", strings(descriptor.urls)],
    ["annotations", annotations(descriptor.annotations)],
    ["data", optionalString(descriptor.data)],
    ["platform", descriptor.platform === undefined ? undefined : platform(descriptor.platform)],
    ["artifactType", optionalString(descriptor.artifactType)],
  ]);
}

function platform(value: OciPlatform): string {
  return goJsonObject([
    ["architecture", goJsonString(value.architecture)],
    ["os", goJsonString(value.os)],
    ["os.version", optionalString(value["os.version"])],
    ["os.features", strings(value["os.features"])],
    ["variant", optionalString(value.variant)],
  ]);
}

function optionalString(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : goJsonString(value);
}

function strings(values: readonly string[] | undefined): string | undefined {
  return values === undefined || values.length === 0 ? undefined : `[${values.map(goJsonString).join(",")}]`;
}

function annotations(map: Readonly<Record<string, string>> | undefined): string | undefined {
  if (map === undefined) return undefined;
  const keys = Object.keys(map).sort(compareBytes);
  if (keys.length === 0) return undefined;
  return `{${keys.map((key) => `${goJsonString(key)}:${goJsonString(map[key] ?? "")}`).join(",")}}`;
}
