import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useConfigTextLoader } from "../../test/helpers/load-config-text.js";
import { defaultBundlesDirectory, readBundleSettings } from "./bundle-settings.js";

const configs = useConfigTextLoader("pennant-bundle-settings-");

describe("readBundleSettings", () => {
  it("without an OCI storage: Flipt's default directory, manifest version 1.1, anonymous", async () => {
    const { config } = await configs.load(undefined);
    assert.deepEqual(readBundleSettings(config, { XDG_CONFIG_HOME: "/xdg" }, "linux"), {
      bundlesDirectory: "/xdg/flipt/bundles",
      manifestVersion: "1.1",
      authentication: undefined,
    });
    assert.equal(
      readBundleSettings(config, { HOME: "/home/u" }, "linux").bundlesDirectory,
      "/home/u/.config/flipt/bundles",
    );
    assert.throws(() => readBundleSettings(config, {}, "linux"), /no bundles directory/);
  });

  it("takes Flipt v1's storage.oci keys", async () => {
    const { config } = await configs.load(
      [
        "storage:",
        "  type: oci",
        "  oci:",
        "    repository: flipt://local/flags:v1",
        "    bundles_directory: /srv/bundles",
        '    manifest_version: "1.0"',
        "    authentication:",
        "      username: ci",
        "      password: secret",
        "",
      ].join("\n"),
    );
    assert.deepEqual(readBundleSettings(config, {}, "linux"), {
      bundlesDirectory: "/srv/bundles",
      manifestVersion: "1.0",
      authentication: { type: "static", username: "ci", password: "secret" },
    });
  });

  it("takes aws-ecr, without a username or password", async () => {
    const { config } = await configs.load(
      "storage:\n  type: oci\n  oci:\n    repository: flipt://local/flags:v1\n    authentication:\n      type: aws-ecr\n",
    );
    assert.deepEqual(readBundleSettings(config, {}, "linux").authentication, { type: "aws-ecr" });
  });
});

describe("defaultBundlesDirectory", () => {
  it("is Go's os.UserConfigDir()/flipt/bundles", () => {
    assert.equal(defaultBundlesDirectory({ XDG_CONFIG_HOME: "/x", HOME: "/h" }, "linux"), "/x/flipt/bundles");
    assert.equal(
      defaultBundlesDirectory({ XDG_CONFIG_HOME: "", HOME: "/h" }, "linux"),
      "/h/.config/flipt/bundles",
    );
    assert.equal(
      defaultBundlesDirectory({ HOME: "/Users/u" }, "darwin"),
      "/Users/u/Library/Application Support/flipt/bundles",
    );
    assert.equal(defaultBundlesDirectory({}, "linux"), undefined);
  });
});
