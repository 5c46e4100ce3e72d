import type { Config } from "../config/config.js";
import { bundlesDirectoryUnder, userConfigDirectory } from "../config/user-config-directory.js";
import type { BundleManifestVersion } from "../storage/oci/bundle-media-types.js";

/** The registry authentication of `storage.oci.authentication`, as the bundle commands use it. */
export type BundleAuthentication =
  | { readonly type: "static"; readonly username: string; readonly password: string }
  | { readonly type: "aws-ecr" };

/** What `pennant bundle` takes from the configuration (Flipt v1's `storage.oci.*`, spec v1-backends §5.6). */
export interface BundleSettings {
  /** `bundles_directory`, else Flipt's `Dir()/bundles`. */
  readonly bundlesDirectory: string;
  /** `manifest_version`, "1.1" by default. */
  readonly manifestVersion: BundleManifestVersion;
  /** `authentication`; undefined = anonymous. */
  readonly authentication: BundleAuthentication | undefined;
}

/**
 * The bundle settings of the configuration: those of the first storage whose `backend.type` is `oci`, else the
 * defaults (Flipt's `Dir()/bundles`, manifest version 1.1, no authentication), as Flipt's `bundle` commands take
 * them from `storage.oci` when that block exists. The OCI storage's fields are read defensively (through `unknown`),
 * so that this reads the configuration whether or not its schema has the `oci` kind yet. As in Flipt, an
 * authentication block whose type is not `aws-ecr` is `static`. Throws when there is no bundles directory
 * configured and no user config directory to put the default one in.
 */
export function readBundleSettings(
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): BundleSettings {
  const backend = ociBackend(config);
  const configured = stringField(backend, "bundlesDirectory");
  const bundlesDirectory = configured ?? defaultBundlesDirectory(env, platform);
  if (bundlesDirectory === undefined) {
    throw new Error(
      "no bundles directory: set the OCI storage's bundles_directory, or $XDG_CONFIG_HOME or $HOME for the default " +
        "<user config dir>/flipt/bundles",
    );
  }
  const manifestVersion = stringField(backend, "manifestVersion") === "1.0" ? "1.0" : "1.1";
  const auth = backend?.authentication;
  let authentication: BundleAuthentication | undefined;
  if (typeof auth === "object" && auth !== null) {
    const fields = auth as Record<string, unknown>;
    authentication =
      fields.type === "aws-ecr"
        ? { type: "aws-ecr" }
        : {
            type: "static",
            username: stringField(fields, "username") ?? "",
            password: stringField(fields, "password") ?? "",
          };
  }
  return { bundlesDirectory, manifestVersion, authentication };
}

/**
 * Flipt's default bundles directory, `Dir()/bundles`: Go's `os.UserConfigDir()` + `/flipt/bundles`
 * (`$XDG_CONFIG_HOME/flipt/bundles`, else `$HOME/.config/flipt/bundles` on Linux); undefined when neither is set.
 */
export function defaultBundlesDirectory(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const base = userConfigDirectory(env, platform);
  return base === undefined ? undefined : bundlesDirectoryUnder(base);
}

/** The `backend` of the first storage whose backend type is `oci`, as plain fields. */
function ociBackend(config: Config): Record<string, unknown> | undefined {
  const storages = config.storage as unknown as Record<string, { backend?: unknown } | undefined>;
  for (const storage of Object.values(storages)) {
    const backend = storage?.backend;
    if (typeof backend !== "object" || backend === null) continue;
    if ((backend as { type?: unknown }).type === "oci") return backend as Record<string, unknown>;
  }
  return undefined;
}

function stringField(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}
