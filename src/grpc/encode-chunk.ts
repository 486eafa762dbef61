/**
 * Canonical chunks → gRPC length-prefixed ChatCompletionChunk messages, a whole batch (one upstream read) in one
 * buffer. Text deltas without logprobs, most of a stream, are encoded by hand: the fields every chunk repeats are
 * serialised once per stream (protobuf-es writes fields in number order: id/object/created/model come before
 * `choices`, system_fingerprint/service_tier after `usage`), and a delta adds its choice between them: index,
 * role on a choice's first chunk, content. Every other chunk goes through the generated schema
 * (./convert-response.ts). Both give the same bytes as `toBinary` of the whole message
 * (test/grpc/encode-chunk.test.ts).
 * @see https://protobuf.dev/programming-guides/encoding/
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Length-Prefixed-Message)
 */
import { toBinary } from "@bufbuild/protobuf";
import { ChatCompletionChunkSchema } from "../../gen/llmproxy/v1/chat_pb.ts";
import type { ChatStream } from "../core/chat-stream.ts";
import type { ChatChunk } from "../core/types.ts";
import type { StreamReasoning } from "../edge/reasoning-carrier.ts";
import { createChunkEncoder, type StreamHead } from "./convert-response.ts";

/** Field keys (field number << 3 | wire type 2, length-delimited). */
const CHOICES_KEY = (5 << 3) | 2;
const INDEX_KEY = 1 << 3;
const DELTA_KEY = (2 << 3) | 2;
const ROLE_KEY = (1 << 3) | 2;
const CONTENT_KEY = (2 << 3) | 2;
const ROLE = Buffer.from("assistant");

/** Encodes the chunks of one stream, batch by batch. */
export type BatchEncoder = (batch: readonly ChatChunk[]) => Buffer | undefined;

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value >>> 7; rest !== 0; rest >>>= 7) size++;
  return size;
}

function writeVarint(target: Buffer, offset: number, value: number): number {
  let rest = value >>> 0;
  let at = offset;
  while (rest > 0x7f) {
    target[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  target[at++] = rest;
  return at;
}

const ID_KEY = (1 << 3) | 2;
const OBJECT_KEY = (2 << 3) | 2;
const CREATED_KEY = 3 << 3;
const MODEL_KEY = (4 << 3) | 2;
const SYSTEM_FINGERPRINT_KEY = (7 << 3) | 2;
const SERVICE_TIER_KEY = (8 << 3) | 2;
const OBJECT = Buffer.from("chat.completion.chunk");

/** A length-delimited field; an empty string is left out, as proto3 does for a plain string. */
function stringField(key: number, bytes: Buffer): Buffer[] {
  return bytes.length === 0 ? [] : [Buffer.from([key]), varint(bytes.length), bytes];
}

/**
 * Fields 1–4 (id, object, created, model) as `toBinary` writes them: in field order, proto3 defaults (an empty
 * string, 0) left out, `created` (int64, whole seconds) as a varint.
 */
function encodeHead(stream: Pick<ChatStream, "id" | "created" | "model">): Buffer {
  const id = Buffer.from(stream.id);
  const model = Buffer.from(stream.model);
  const created = Math.trunc(stream.created);
  return Buffer.concat([
    ...stringField(ID_KEY, id),
    ...stringField(OBJECT_KEY, OBJECT),
    ...(created === 0 ? [] : [Buffer.from([CREATED_KEY]), varint(created)]),
    ...stringField(MODEL_KEY, model),
  ]);
}

const NO_TAIL = Buffer.alloc(0);

/** Fields 7–8 (system_fingerprint, service_tier): `optional`, so written when set, even when empty. */
function encodeTail(stream: Pick<ChatStream, "systemFingerprint" | "serviceTier">): Buffer {
  if (stream.systemFingerprint === undefined && stream.serviceTier === undefined) return NO_TAIL;
  const optional = (key: number, value: string | undefined): Buffer[] => {
    if (value === undefined) return [];
    const bytes = Buffer.from(value);
    return [Buffer.from([key]), varint(bytes.length), bytes];
  };
  return Buffer.concat([
    ...optional(SYSTEM_FINGERPRINT_KEY, stream.systemFingerprint),
    ...optional(SERVICE_TIER_KEY, stream.serviceTier),
  ]);
}

/** A non-negative safe integer as a varint (beyond 32 bits too: no bit operators on the whole value). */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A text delta, measured before the batch buffer is allocated. */
interface TextPiece {
  readonly choice: number;
  readonly text: string;
  readonly textBytes: number;
  readonly first: boolean;
  readonly deltaSize: number;
  readonly choiceSize: number;
  readonly messageSize: number;
}

/** Creates the encoder of one stream. Usage is sent only when the client asked for it. */
export function createBatchEncoder(
  stream: StreamHead,
  includeUsage: boolean,
  reasoning?: StreamReasoning,
): BatchEncoder {
  // One set for both encoders: a choice's first chunk carries the role, whichever of them writes it.
  const started = new Set<number>();
  const generic = createChunkEncoder(stream, includeUsage, started, reasoning);
  const head = encodeHead(stream);
  const tail = encodeTail(stream);
  const measure = (choice: number, text: string): TextPiece => {
    const first = !started.has(choice);
    const textBytes = Buffer.byteLength(text);
    const deltaSize =
      (first ? 1 + varintSize(ROLE.length) + ROLE.length : 0) + 1 + varintSize(textBytes) + textBytes;
    const choiceSize = (choice === 0 ? 0 : 1 + varintSize(choice)) + 1 + varintSize(deltaSize) + deltaSize;
    const messageSize = head.length + 1 + varintSize(choiceSize) + choiceSize + tail.length;
    return { choice, text, textBytes, first, deltaSize, choiceSize, messageSize };
  };
  return (batch) => {
    const pieces: (TextPiece | Uint8Array)[] = [];
    let total = 0;
    for (const chunk of batch) {
      if (chunk.type === "text-delta" && chunk.logprobs === undefined) {
        const piece = measure(chunk.choice, chunk.text);
        if (piece.first) started.add(chunk.choice);
        pieces.push(piece);
        total += 5 + piece.messageSize;
        continue;
      }
      const message = generic(chunk);
      if (message === undefined) continue;
      const bytes = toBinary(ChatCompletionChunkSchema, message);
      pieces.push(bytes);
      total += 5 + bytes.length;
    }
    if (pieces.length === 0) return undefined;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const piece of pieces) {
      const size = piece instanceof Uint8Array ? piece.length : piece.messageSize;
      out[at] = 0;
      out.writeUInt32BE(size, at + 1);
      at += 5;
      if (piece instanceof Uint8Array) {
        out.set(piece, at);
        at += piece.length;
        continue;
      }
      head.copy(out, at);
      at += head.length;
      out[at++] = CHOICES_KEY;
      at = writeVarint(out, at, piece.choiceSize);
      if (piece.choice !== 0) {
        out[at++] = INDEX_KEY;
        at = writeVarint(out, at, piece.choice);
      }
      out[at++] = DELTA_KEY;
      at = writeVarint(out, at, piece.deltaSize);
      if (piece.first) {
        out[at++] = ROLE_KEY;
        at = writeVarint(out, at, ROLE.length);
        ROLE.copy(out, at);
        at += ROLE.length;
      }
      out[at++] = CONTENT_KEY;
      at = writeVarint(out, at, piece.textBytes);
      at += out.write(piece.text, at, "utf8");
      if (tail.length !== 0) at += tail.copy(out, at);
    }
    return out;
  };
}
