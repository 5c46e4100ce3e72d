import { createContextKey } from "@connectrpc/connect";

/** Set on RPCs that arrived through a REST route; undefined for gRPC, gRPC-Web and Connect calls. */
export interface RestCall {
  /** The path template of the matched route, such as `/evaluate/v1/boolean`. */
  readonly route: string;
}

export const restCallKey = createContextKey<RestCall | undefined>(undefined, { description: "REST route" });

/** The TCP peer of the call (the client, or the proxy in front of it), for limits kept per client. */
export const clientAddressKey = createContextKey<string>("", { description: "client address" });
