import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { MetadataService } from "../gen/flipt/meta/meta_pb.js";
import { HttpBodySchema } from "../gen/google/api/httpbody_pb.js";
import { PRETTY_JSON } from "./rest/rest-gateway.js";

/** The UI settings `GET /meta/info` passes on to Flipt's UI. */
export interface UiInfo {
  /** `ui.default_theme`: "system", "light" or "dark"; "" leaves `theme` out. */
  readonly theme: string;
  /** `ui.topbar.color`, a hex colour such as "#1a2b3c"; "" (the default) leaves `topbarColor` out. */
  readonly topbarColor: string;
}

/** What `GET /meta/info` reports about this build and server. */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly buildDate: string;
  /** The runtime, in the field where Flipt reports its Go version. */
  readonly runtimeVersion: string;
  readonly authenticationRequired: boolean;
  /** Every storage is read-only (`storage.read_only`): no write through the API can succeed. */
  readonly readOnly: boolean;
  /** The `ui` settings; Flipt's defaults (theme "system", no top bar colour) when not given. */
  readonly ui?: UiInfo;
}

/** Flipt's `ui` defaults: `ui.default_theme: system` and no `ui.topbar.color`. */
const DEFAULT_UI_INFO: UiInfo = { theme: "system", topbarColor: "" };

/** The `Accept` value (exactly) that asks for indented JSON, as Flipt's metadata server reads it. */

/**
 * flipt.meta.MetadataService: build and feature information as raw JSON, the shape Flipt's UI reads:
 * `{build, authentication, analytics, ui, product}` (plus Pennant's `readOnly`). As in Flipt, empty strings are
 * left out (`build.commit` of a build without a stamp, `ui.topbarColor` when no colour is set), analytics, never
 * enabled here, is `{}`, and `Accept: application/json+pretty` (or `?pretty`) indents with two spaces.
 */
export function createMetadataService(info: BuildInfo): Partial<ServiceImpl<typeof MetadataService>> {
  const ui = info.ui ?? DEFAULT_UI_INFO;
  const body = {
    build: {
      ...nonEmpty("version", info.version),
      ...nonEmpty("commit", info.commit),
      ...nonEmpty("buildDate", info.buildDate),
      ...nonEmpty("goVersion", info.runtimeVersion),
      updateAvailable: false,
      isRelease: !info.version.includes("-"),
    },
    authentication: { required: info.authenticationRequired },
    analytics: {},
    ui: { ...nonEmpty("theme", ui.theme), ...nonEmpty("topbarColor", ui.topbarColor) },
    product: "oss",
    readOnly: info.readOnly,
  };
  const compact = new TextEncoder().encode(JSON.stringify(body));
  const pretty = new TextEncoder().encode(JSON.stringify(body, null, 2));
  return {
    getInfo(_request, context) {
      const wantsPretty =
        context.requestHeader.get("accept") === PRETTY_JSON ||
        new URL(context.url).searchParams.has("pretty");
      return create(HttpBodySchema, {
        contentType: "application/json",
        data: wantsPretty ? pretty : compact,
      });
    },
  };
}

/** `{[name]: value}`, or nothing for "": Go's `omitempty` on a string. */
function nonEmpty<K extends string>(name: K, value: string): { [P in K]?: string } {
  return value === "" ? {} : ({ [name]: value } as { [P in K]: string });
}
