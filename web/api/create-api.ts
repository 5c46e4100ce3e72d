import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { EnvironmentsService } from "../../src/gen/environments/environments_pb.js";
import { AuthenticationService } from "../../src/gen/flipt/auth/auth_pb.js";
import { EvaluationService } from "../../src/gen/flipt/evaluation/evaluation_pb.js";
import { Flipt } from "../../src/gen/flipt/flipt_pb.js";
import { MetadataService } from "../../src/gen/flipt/meta/meta_pb.js";
import { ExplainService } from "../../src/gen/pennant/explain/v1/explain_pb.js";
import { StatusService } from "../../src/gen/pennant/status/v1/status_pb.js";
import type { CredentialStore } from "./credential-store.js";

/** The public services the console talks to, as any browser client of Pennant would (Connect, binary). */
export interface Api {
  /** The base URL of every call, also used for the console's sign-in route. */
  readonly baseUrl: string;
  readonly environments: Client<typeof EnvironmentsService>;
  readonly evaluation: Client<typeof EvaluationService>;
  readonly status: Client<typeof StatusService>;
  readonly auth: Client<typeof AuthenticationService>;
  readonly explain: Client<typeof ExplainService>;
  readonly meta: Client<typeof MetadataService>;
  /** Flipt v1's API: its paged ListFlags gives the flags page its first rows while the whole list loads. */
  readonly flipt: Client<typeof Flipt>;
}

/**
 * Clients over one Connect transport. Binary protobuf: a namespace of 10 000 flags decodes several times faster
 * than JSON, and `google.protobuf.Any` payloads need no type registry. Calls go to the page's own origin, so the
 * `flipt_client_token` cookie rides along when the user chose to be remembered; a token held in memory is added as
 * an `Authorization` header.
 */
export function createApi(baseUrl: string, credentials: CredentialStore): Api {
  const authorize: Interceptor = (next) => (request) => {
    const header = credentials.authorization();
    if (header !== undefined) request.header.set("authorization", header);
    return next(request);
  };
  const transport = createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors: [authorize] });
  return {
    baseUrl,
    environments: createClient(EnvironmentsService, transport),
    evaluation: createClient(EvaluationService, transport),
    status: createClient(StatusService, transport),
    auth: createClient(AuthenticationService, transport),
    explain: createClient(ExplainService, transport),
    meta: createClient(MetadataService, transport),
    flipt: createClient(Flipt, transport),
  };
}
