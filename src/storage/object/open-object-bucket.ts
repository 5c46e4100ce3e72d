import type { ObjectBucket, ObjectStoreConfig } from "./object-bucket.js";

/**
 * Opens the bucket `config` names, with the provider's credentials from `env` (the process environment, given by
 * the caller: AWS's default chain, `AZURE_STORAGE_*` / `AZURE_CLIENT_*`, `GOOGLE_APPLICATION_CREDENTIALS`, ...).
 * Nothing is requested yet: the first `list()` finds out whether the bucket exists and the credentials work. Only
 * the provider used is loaded: each SDK takes seconds to load, which no other storage should pay.
 */
export async function openObjectBucket(
  config: ObjectStoreConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ObjectBucket> {
  switch (config.provider) {
    case "s3":
      return (await import("./s3-bucket.js")).openS3Bucket(config, env);
    case "azblob":
      return (await import("./azure-blob-bucket.js")).openAzureBlobBucket(config, env);
    case "googlecloud":
      return (await import("./gcs-bucket.js")).openGcsBucket(config, env);
  }
}
