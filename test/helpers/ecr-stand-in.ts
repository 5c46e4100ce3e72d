/**
 * A STAND-IN for Amazon ECR's and ECR Public's `GetAuthorizationToken`: nothing that serves ECR's API runs on this
 * machine, so the tests drive the REAL AWS SDK clients (`@aws-sdk/client-ecr`, `@aws-sdk/client-ecr-public`, with
 * `endpoint` pointed here) against this small node:http server on 127.0.0.1. It speaks the AWS JSON 1.1 protocol
 * for that one operation only:
 *
 * - `POST /` with `Content-Type: application/x-amz-json-1.1` and `X-Amz-Target` either
 *   `AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken` (private ECR: answers
 *   `{"authorizationData":[{authorizationToken, expiresAt, proxyEndpoint}]}`) or
 *   `SpencerFrontendService.GetAuthorizationToken` (ECR Public: `{"authorizationData":{authorizationToken,
 *   expiresAt}}`), `expiresAt` in epoch seconds as the protocol sends timestamps;
 * - every request must be signed (SigV4, `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 *   Signature=…`). The signature is checked with the secret of the access key id named, when the stand-in knows
 *   it (`credentials`): an unknown key id is refused with `UnrecognizedClientException`, a wrong signature with
 *   `InvalidSignatureException`, as AWS does (HTTP 400 with `{"__type", "message"}`);
 * - any other target is refused with `UnknownOperationException`.
 *
 * What it answers is up to the test (`answer`, which may also hold the answer back to show that concurrent callers
 * share a request); each call is recorded with the API, the signing key id, region and service of its credential
 * scope, the session token and the request body.
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const PRIVATE_ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
export const PUBLIC_ECR_TARGET = "SpencerFrontendService.GetAuthorizationToken";

export interface EcrStandInCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** One `GetAuthorizationToken` call as received. */
export interface EcrCall {
  readonly api: "private" | "public";
  /** From the credential scope of the Authorization header. */
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  /** `X-Amz-Security-Token`, if sent. */
  readonly sessionToken: string | undefined;
  /** The parsed JSON body (`{}` when no registry ids are asked for). */
  readonly body: unknown;
}

export type EcrAnswer =
  /** A token: `authorizationToken` as sent (see `ecrToken`), `expiresAt` in ms since the epoch. */
  | { readonly authorizationToken: string; readonly expiresAt: number }
  /** `authorizationData` empty (private: `[]`) or absent (public). */
  | { readonly empty: true }
  /** An AWS JSON error: `__type` and `message`, HTTP `status` (400 unless told). */
  | { readonly error: string; readonly message: string; readonly status?: number };

export interface EcrStandInOptions {
  /** Keys whose signatures are checked; a request signed with another key id is refused. */
  readonly credentials?: readonly EcrStandInCredentials[];
  /** What to answer; by default a token for `AWS:ecr-stand-in-password` that expires in 12 hours. */
  readonly answer?: (call: EcrCall) => EcrAnswer | Promise<EcrAnswer>;
}

export interface EcrStandIn {
  /** `http://127.0.0.1:<port>`: the `endpoint` of the SDK clients. */
  readonly endpoint: string;
  /** Every well-formed, correctly signed call, oldest first. */
  readonly calls: readonly EcrCall[];
  /** Requests refused before reaching `answer` (bad signature, unknown key, unknown target), as their error type. */
  readonly refused: readonly string[];
  /** Replaces what is answered from now on. */
  answer: (call: EcrCall) => EcrAnswer | Promise<EcrAnswer>;
  /** Forgets the recorded calls. */
  reset(): void;
  close(): Promise<void>;
}

/** `authorizationToken` as ECR sends it: base64 of `<username>:<password>`. */
export function ecrToken(password: string, username = "AWS"): string {
  return Buffer.from(`${username}:${password}`).toString("base64");
}

export const DEFAULT_ECR_PASSWORD = "ecr-stand-in-password";
const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match =
    /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      header ?? "",
    );
  if (match === null) return undefined;
  const [, accessKeyId = "", date = "", region = "", service = "", signedHeaders = "", signature = ""] =
    match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

/** The SigV4 signature of this request (POST / without a query), with `secret`. */
function expectedSignature(
  request: IncomingMessage,
  body: Buffer,
  auth: ParsedAuthorization,
  secret: string,
): string | undefined {
  const amzDate = request.headers["x-amz-date"];
  if (typeof amzDate !== "string" || !amzDate.startsWith(auth.date)) return undefined;
  const headerLines = auth.signedHeaders.map((name) => {
    const value = request.headers[name];
    const text = Array.isArray(value) ? value.join(",") : (value ?? "");
    return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
  });
  const url = new URL(request.url ?? "/", "http://stand-in");
  const canonicalRequest = [
    request.method ?? "POST",
    url.pathname,
    url.search.slice(1),
    headerLines.join(""),
    auth.signedHeaders.join(";"),
    sha256Hex(body),
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), "aws4_request");
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

function sendJson(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const headers: Record<string, string> = { "content-type": "application/x-amz-json-1.1" };
  if (errorType !== undefined) headers["x-amzn-errortype"] = errorType;
  response.writeHead(status, headers);
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, type: string, message: string, status = 400): void {
  sendJson(response, status, { __type: type, message }, type);
}

export async function startEcrStandIn(options: EcrStandInOptions = {}): Promise<EcrStandIn> {
  const secrets = new Map((options.credentials ?? []).map((key) => [key.accessKeyId, key.secretAccessKey]));
  const calls: EcrCall[] = [];
  const refused: string[] = [];
  const standIn = {
    answer:
      options.answer ??
      ((): EcrAnswer => ({
        authorizationToken: ecrToken(DEFAULT_ECR_PASSWORD),
        expiresAt: Date.now() + TOKEN_LIFETIME_MS,
      })),
  };

  const refuse = (response: ServerResponse, type: string, message: string, status = 400) => {
    refused.push(type);
    sendError(response, type, message, status);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse, body: Buffer) => {
    if (request.method !== "POST" || new URL(request.url ?? "/", "http://stand-in").pathname !== "/") {
      refuse(response, "UnknownOperationException", "only POST / is served here", 404);
      return;
    }
    const target = request.headers["x-amz-target"];
    const api =
      target === PRIVATE_ECR_TARGET ? "private" : target === PUBLIC_ECR_TARGET ? "public" : undefined;
    if (api === undefined) {
      refuse(response, "UnknownOperationException", `unknown operation ${String(target)}`);
      return;
    }
    const auth = parseAuthorization(request.headers.authorization);
    if (auth === undefined) {
      refuse(response, "MissingAuthenticationTokenException", "Missing Authentication Token", 403);
      return;
    }
    const secret = secrets.get(auth.accessKeyId);
    if (options.credentials !== undefined) {
      if (secret === undefined) {
        refuse(
          response,
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
        );
        return;
      }
      if (expectedSignature(request, body, auth, secret) !== auth.signature) {
        refuse(
          response,
          "InvalidSignatureException",
          "The request signature we calculated does not match the signature you provided.",
        );
        return;
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8") || "{}");
    } catch {
      refuse(response, "SerializationException", "the body is not JSON");
      return;
    }
    const token = request.headers["x-amz-security-token"];
    const call: EcrCall = {
      api,
      accessKeyId: auth.accessKeyId,
      region: auth.region,
      service: auth.service,
      sessionToken: typeof token === "string" ? token : undefined,
      body: parsed,
    };
    calls.push(call);
    const answer = await standIn.answer(call);
    if ("error" in answer) {
      sendError(response, answer.error, answer.message, answer.status ?? 400);
      return;
    }
    if ("empty" in answer) {
      sendJson(response, 200, api === "private" ? { authorizationData: [] } : {});
      return;
    }
    const data = { authorizationToken: answer.authorizationToken, expiresAt: answer.expiresAt / 1000 };
    sendJson(
      response,
      200,
      api === "private"
        ? {
            authorizationData: [
              { ...data, proxyEndpoint: `https://000000000000.dkr.ecr.${auth.region}.amazonaws.com` },
            ],
          }
        : { authorizationData: data },
    );
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      handle(request, response, Buffer.concat(chunks)).catch((error: unknown) => {
        if (!response.headersSent) sendError(response, "ServerException", String(error), 500);
        else response.end();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    refused,
    get answer() {
      return standIn.answer;
    },
    set answer(answer) {
      standIn.answer = answer;
    },
    reset() {
      calls.length = 0;
      refused.length = 0;
    },
    async close() {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
