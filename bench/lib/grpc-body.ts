/**
 * gRPC request bodies for the load generator and the check of one full answer: a CreateChatCompletionRequest in
 * a gRPC length-prefixed message (flag byte, 4-byte big-endian length, protobuf bytes), and the decoding of the
 * messages of an answer.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Length-Prefixed-Message)
 */
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { CreateChatCompletionRequestSchema } from "../../gen/llmproxy/v1/chat_pb.ts";

/** The ChatService paths. */
export const GRPC_STREAM_PATH = "/llmproxy.v1.ChatService/StreamChatCompletion";
export const GRPC_UNARY_PATH = "/llmproxy.v1.ChatService/CreateChatCompletion";

/** The enveloped request, base64 (RunSpec bodies are strings). */
export function grpcRequestBody(model: string): string {
  const message = toBinary(
    CreateChatCompletionRequestSchema,
    create(CreateChatCompletionRequestSchema, { model, messages: [{ role: "user", content: "Say hello" }] }),
  );
  const envelope = Buffer.alloc(5 + message.length);
  envelope.writeUInt8(0, 0);
  envelope.writeUInt32BE(message.length, 1);
  envelope.set(message, 5);
  return envelope.toString("base64");
}

/** Every message of a gRPC answer body, decoded as `schema`. */
export function decodeGrpcMessages<Desc extends DescMessage>(
  body: Buffer,
  schema: Desc,
): MessageShape<Desc>[] {
  const messages: MessageShape<Desc>[] = [];
  for (let offset = 0; offset + 5 <= body.length; ) {
    const length = body.readUInt32BE(offset + 1);
    messages.push(fromBinary(schema, body.subarray(offset + 5, offset + 5 + length)));
    offset += 5 + length;
  }
  return messages;
}
