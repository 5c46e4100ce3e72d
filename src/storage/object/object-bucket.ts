/** One object as a listing shows it. */
export interface ListedObject {
  /** The key relative to the storage's prefix, with `/` separators. */
  readonly key: string;
  /** What changes whenever the object's bytes do: the provider's ETag (S3, Azure) or generation (GCS). */
  readonly etag: string;
  readonly size: number;
}

/**
 * A bucket (or container) of one object store provider, under the storage's prefix: the only part of object
 * storage that speaks a provider's API. Failures are `ObjectStoreError`s, with the bucket named and never a secret.
 */
export interface ObjectBucket {
  /** For logs, errors and `/meta/status`, such as `s3 bucket "flags" (prefix "prod/")`. */
  readonly description: string;
  /** Every object under the prefix, in any order: as few requests as the provider allows (one per page). */
  list(): Promise<ListedObject[]>;
  /**
   * The bytes of the object at `key` (relative to the prefix), or undefined when it is gone. At most `maxBytes` + 1
   * bytes are read, so that an object over the limit is found without holding it whole.
   */
  get(key: string, maxBytes: number): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/** Where an object storage's flag state lives: one provider's bucket (or container), as the config names it. */
export type ObjectStoreConfig =
  | {
      readonly provider: "s3";
      readonly bucket: string;
      /** Used literally, as in Flipt v1: `flags/` reads `flags/.flipt.yml`; `flags` reads `flags.flipt.yml`. */
      readonly prefix: string;
      readonly region?: string | undefined;
      /** An S3-compatible store's URL (MinIO, ...): path-style addressing, as Flipt v1 always uses. */
      readonly endpoint?: string | undefined;
    }
  | {
      readonly provider: "azblob";
      readonly container: string;
      /** The blob service's domain, such as `https://blob.core.windows.net` or `http://127.0.0.1:10000`. */
      readonly endpoint?: string | undefined;
    }
  | {
      readonly provider: "googlecloud";
      readonly bucket: string;
      readonly prefix: string;
    };
