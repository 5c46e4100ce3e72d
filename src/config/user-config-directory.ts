import { join } from "node:path";

/** Go's `os.UserConfigDir`, from the given environment: `$XDG_CONFIG_HOME`, else `$HOME/.config` (Linux). */
export function userConfigDirectory(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): string | undefined {
  const nonEmpty = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
  if (platform === "win32") return nonEmpty(env.APPDATA);
  const home = nonEmpty(env.HOME);
  if (platform === "darwin")
    return home === undefined ? undefined : join(home, "Library", "Application Support");
  return nonEmpty(env.XDG_CONFIG_HOME) ?? (home === undefined ? undefined : join(home, ".config"));
}

/** Flipt v1's bundles directory under a user config directory: `Dir()/bundles`, `Dir()` being `<dir>/flipt`. */
export function bundlesDirectoryUnder(userConfigDir: string): string {
  return join(userConfigDir, "flipt", "bundles");
}
