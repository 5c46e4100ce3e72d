import {
  create,
  createRegistry,
  type DescExtension,
  type DescFile,
  type DescService,
  fromBinary,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** gRPC status codes used inside reflection's error responses. */
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

type ResponseBody = v1.ServerReflectionResponse["messageResponse"];

/**
 * Serves gRPC server reflection, v1 and v1alpha, so `buf curl`, grpcurl and reflection clients can list the
 * services and call them without local .proto files. Reflection is a bidirectional stream, so it works over
 * HTTP/2 gRPC only.
 */
export function registerReflection(
  router: ConnectRouter,
  services: readonly DescService[],
  /** Files no service imports but whose messages travel in an `Any` (`flipt.core`), for clients to resolve. */
  extraFiles: readonly DescFile[] = [],
): void {
  const reflectionServices = [v1.ServerReflection, v1alpha.ServerReflection];
  const all = [...services, ...reflectionServices];
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    for (const dependency of file.dependencies) addFile(dependency);
  };
  for (const service of all) addFile(service.file);
  for (const file of extraFiles) addFile(file);
  const registry = createRegistry(...files.values());
  const serviceNames = all.map((service) => service.typeName);

  const answer = (request: v1.ServerReflectionRequest): ResponseBody => {
    const query = request.messageRequest;
    switch (query.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: create(v1.ListServiceResponseSchema, { service: serviceNames.map((name) => ({ name })) }),
        };
      case "fileByFilename":
        return describe(files.get(query.value), `file "${query.value}" not found`);
      case "fileContainingSymbol":
        return describe(fileOfSymbol(registry, query.value), `symbol "${query.value}" not found`);
      case "fileContainingExtension": {
        const extension = extensionsOf(registry, query.value.containingType).find(
          (candidate) => candidate.number === query.value.extensionNumber,
        );
        return describe(
          extension?.file,
          `extension ${query.value.extensionNumber} of "${query.value.containingType}" not found`,
        );
      }
      case "allExtensionNumbersOfType": {
        if (registry.getMessage(query.value) === undefined) {
          return failure(NOT_FOUND, `type "${query.value}" not found`);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: create(v1.ExtensionNumberResponseSchema, {
            baseTypeName: query.value,
            extensionNumber: extensionsOf(registry, query.value).map((extension) => extension.number),
          }),
        };
      }
      default:
        return failure(UNIMPLEMENTED, "unsupported reflection request");
    }
  };

  const respond = (request: v1.ServerReflectionRequest): v1.ServerReflectionResponse =>
    create(v1.ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(request),
    });

  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield respond(request);
    },
  });
  // v1alpha is wire-identical to v1: translate through the binary form and answer with the same code.
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const asV1 = fromBinary(
          v1.ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, request),
        );
        yield fromBinary(
          v1alpha.ServerReflectionResponseSchema,
          toBinary(v1.ServerReflectionResponseSchema, respond(asV1)),
        );
      }
    },
  });
}

/** The file that declares a symbol: a message, enum, service or extension, or a method or field of one. */
function fileOfSymbol(registry: Registry, symbol: string): DescFile | undefined {
  const direct = registry.get(symbol);
  if (direct !== undefined) return direct.file;
  const parent = registry.get(symbol.slice(0, symbol.lastIndexOf(".")));
  if (parent?.kind === "service") {
    return parent.methods.some((method) => `${parent.typeName}.${method.name}` === symbol)
      ? parent.file
      : undefined;
  }
  if (parent?.kind === "message" || parent?.kind === "enum") return parent.file;
  return undefined;
}

function extensionsOf(registry: Registry, typeName: string): DescExtension[] {
  const found: DescExtension[] = [];
  for (const type of registry) {
    if (type.kind === "extension" && type.extendee.typeName === typeName) found.push(type);
  }
  return found;
}

/** A file and everything it imports, each serialized once, the file itself first. */
function describe(file: DescFile | undefined, notFound: string): ResponseBody {
  if (file === undefined) return failure(NOT_FOUND, notFound);
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const visit = (current: DescFile): void => {
    if (seen.has(current.name)) return;
    seen.add(current.name);
    out.push(toBinary(FileDescriptorProtoSchema, current.proto));
    for (const dependency of current.dependencies) visit(dependency);
  };
  visit(file);
  return {
    case: "fileDescriptorResponse",
    value: create(v1.FileDescriptorResponseSchema, { fileDescriptorProto: out }),
  };
}

function failure(errorCode: number, errorMessage: string): ResponseBody {
  return { case: "errorResponse", value: create(v1.ErrorResponseSchema, { errorCode, errorMessage }) };
}
