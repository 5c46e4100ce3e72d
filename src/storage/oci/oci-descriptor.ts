/**
 * The shapes of OCI image-spec v1.1.1 that bundles use: descriptors, manifests and the image index, with only the
 * fields the spec defines. `encodeOciJson` writes them in Go's struct field order.
 */

export interface OciPlatform {
  readonly architecture: string;
  readonly os: string;
  readonly "os.version"?: string | undefined;
  readonly "os.features"?: readonly string[] | undefined;
  readonly variant?: string | undefined;
}

/** A content descriptor: what a manifest, index or layer entry points at. */
export interface OciDescriptor {
  readonly mediaType: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[] | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** The content itself, base64. */
  readonly data?: string | undefined;
  readonly platform?: OciPlatform | undefined;
  readonly artifactType?: string | undefined;
}

export interface OciManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string | undefined;
  readonly artifactType?: string | undefined;
  readonly config: OciDescriptor;
  readonly layers: readonly OciDescriptor[];
  readonly subject?: OciDescriptor | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

export interface OciIndex {
  readonly schemaVersion: number;
  readonly mediaType?: string | undefined;
  readonly artifactType?: string | undefined;
  readonly manifests: readonly OciDescriptor[];
  readonly subject?: OciDescriptor | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}
