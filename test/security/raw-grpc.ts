/**
 * Raw gRPC over h2c for hostile-input tests: hand-built protobuf bytes and envelopes (which generated clients
 * refuse to produce), sent with node:http2, and the status read from trailers or a trailers-only response.
 */
import http2 from "node:http2";

/** What came back. */
export interface RawRpcResponse {
  readonly httpStatus: number;
  /** grpc-status from the trailers, or from the headers of a trailers-only response; undefined if absent. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;
  readonly headers: http2.IncomingHttpHeaders;
  readonly data: Buffer;
}

/** Opens one gRPC call on a fresh h2c connection; a connection failure goes to `onError`. */
export function openRawCall(
  url: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  onError: (error: Error) => void,
): { session: http2.ClientHttp2Session; stream: http2.ClientHttp2Stream } {
  const session = http2.connect(url);
  session.on("error", onError);
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  return { session, stream };
}

/** Sends one request on a fresh h2c connection. */
export function rawRpc(
  url: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<RawRpcResponse> {
  return new Promise((resolve, reject) => {
    const { session, stream } = openRawCall(url, path, headers, reject);
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    stream.on("response", (received) => {
      responseHeaders = received;
    });
    stream.on("trailers", (received) => {
      trailers = received;
    });
    stream.on("data", (chunk: Buffer) => data.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      const status = trailers["grpc-status"] ?? responseHeaders["grpc-status"];
      const message = trailers["grpc-message"] ?? responseHeaders["grpc-message"];
      resolve({
        httpStatus: Number(responseHeaders[":status"]),
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: typeof message === "string" ? decodeURIComponent(message) : "",
        headers: responseHeaders,
        data: Buffer.concat(data),
      });
    });
    stream.end(body);
  });
}

/** A gRPC length-prefixed message. */
export function envelope(message: Uint8Array, flags = 0, declaredLength = message.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, message]);
}

/** Protobuf varint. */
export function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A length-delimited field. */
export function bytesField(fieldNumber: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((fieldNumber << 3) | 2), varint(payload.length), payload]);
}

/** A google.protobuf.Value nesting `depth` list values around a number. */
export function deepListValue(depth: number): Buffer {
  const number = Buffer.alloc(9);
  number.writeUInt8((2 << 3) | 1, 0);
  number.writeDoubleLE(1, 1);
  let value: Buffer = number;
  for (let level = 0; level < depth; level++) value = bytesField(6, bytesField(1, value));
  return value;
}

/** A google.protobuf.Struct `{"a": value}`. */
export function structWith(value: Buffer): Buffer {
  return bytesField(1, Buffer.concat([bytesField(1, Buffer.from("a")), bytesField(2, value)]));
}
