/**
 * gRPC server reflection, answered from the descriptors embedded in the generated code, so `buf curl`, grpcurl,
 * Postman and grpcui can list and call the services without a copy of proto/. One index answers both wire
 * versions (`grpc.reflection.v1` and the older `v1alpha` that grpcurl still tries): their messages are identical.
 * @see https://github.com/grpc/grpc/blob/master/doc/server-reflection.md
 */

import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";

/** The request's `message_request` oneof, common to v1 and v1alpha. */
export type ReflectionQuery =
  | { readonly case: "fileByFilename"; readonly value: string }
  | { readonly case: "fileContainingSymbol"; readonly value: string }
  | {
      readonly case: "fileContainingExtension";
      readonly value: { readonly containingType: string; readonly extensionNumber: number };
    }
  | { readonly case: "allExtensionNumbersOfType"; readonly value: string }
  | { readonly case: "listServices"; readonly value: string }
  | { readonly case: undefined; readonly value?: undefined };

/** The response's `message_response` oneof, common to v1 and v1alpha. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Answers reflection queries about a fixed set of services. */
export interface ReflectionIndex {
  answer(query: ReflectionQuery): ReflectionAnswer;
}

/** Builds the index of `services`, their files and every file those import (transitively). */
export function createReflectionIndex(services: readonly DescService[]): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dependency of file.dependencies) addFile(dependency);
  };
  for (const service of services) addFile(service.file);
  const symbols = indexSymbols(files.values());
  const extensions = indexExtensions(files.values());
  const serviceNames = services.map((service) => ({ name: service.typeName }));

  const filesAnswer = (file: DescFile): ReflectionAnswer => ({
    case: "fileDescriptorResponse",
    value: {
      fileDescriptorProto: withDependencies(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)),
    },
  });

  return {
    answer(query) {
      switch (query.case) {
        case "listServices":
          return { case: "listServicesResponse", value: { service: serviceNames } };
        case "fileByFilename": {
          const file = files.get(query.value);
          return file === undefined ? notFound(`file "${query.value}"`) : filesAnswer(file);
        }
        case "fileContainingSymbol": {
          const file = symbols.get(query.value.replace(/^\./, ""));
          return file === undefined ? notFound(`symbol "${query.value}"`) : filesAnswer(file);
        }
        case "fileContainingExtension": {
          const { containingType, extensionNumber } = query.value;
          const file = extensions.get(containingType)?.get(extensionNumber);
          return file === undefined
            ? notFound(`extension ${extensionNumber} of "${containingType}"`)
            : filesAnswer(file);
        }
        case "allExtensionNumbersOfType": {
          if (!symbols.has(query.value)) return notFound(`type "${query.value}"`);
          const numbers = [...(extensions.get(query.value)?.keys() ?? [])];
          return {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: query.value, extensionNumber: numbers },
          };
        }
        default:
          return {
            case: "errorResponse",
            value: { errorCode: Code.InvalidArgument, errorMessage: "message_request is not set" },
          };
      }
    },
  };
}

function notFound(what: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

/** The file first, then everything it imports, each once (clients build their pool from the whole set). */
function withDependencies(file: DescFile): DescFile[] {
  const ordered: DescFile[] = [];
  const visit = (current: DescFile): void => {
    if (ordered.includes(current)) return;
    ordered.push(current);
    for (const dependency of current.dependencies) visit(dependency);
  };
  visit(file);
  return ordered;
}

/**
 * Every fully-qualified name a client may ask for, mapped to its file: messages, enums, extensions and services,
 * and their members (fields, oneofs, enum values, methods), as protoc's descriptor pool resolves them.
 */
function indexSymbols(files: Iterable<DescFile>): Map<string, DescFile> {
  const symbols = new Map<string, DescFile>();
  for (const file of files) {
    for (const type of nestedTypes(file)) {
      symbols.set(type.typeName, file);
      switch (type.kind) {
        case "message":
          for (const field of type.fields) symbols.set(`${type.typeName}.${field.name}`, file);
          for (const oneof of type.oneofs) symbols.set(`${type.typeName}.${oneof.name}`, file);
          break;
        case "enum": {
          // Enum values are siblings of their enum in protobuf's scoping rules.
          const scope = type.parent?.typeName ?? file.proto.package;
          for (const value of type.values)
            symbols.set(scope === "" ? value.name : `${scope}.${value.name}`, file);
          break;
        }
        case "service":
          for (const method of type.methods) symbols.set(`${type.typeName}.${method.name}`, file);
          break;
        case "extension":
          break;
      }
    }
  }
  return symbols;
}

/** Extendee type name → extension number → declaring file. */
function indexExtensions(files: Iterable<DescFile>): Map<string, Map<number, DescFile>> {
  const byType = new Map<string, Map<number, DescFile>>();
  for (const file of files) {
    for (const type of nestedTypes(file)) {
      if (type.kind !== "extension") continue;
      const numbers = byType.get(type.extendee.typeName) ?? new Map<number, DescFile>();
      numbers.set(type.number, file);
      byType.set(type.extendee.typeName, numbers);
    }
  }
  return byType;
}
