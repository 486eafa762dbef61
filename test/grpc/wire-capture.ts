/**
 * What a gRPC client sees of one call, byte for byte, over a raw node:http2 connection (h2c): the response header
 * list in wire order (with the HEADERS frame's END_STREAM flag, set on a trailers-only answer), every gRPC message
 * of the DATA frames reassembled from the length prefixes (flag byte and payload, as hex), the trailer list, and the
 * RST_STREAM code. Only what must differ between two calls is masked: `date`, and the overhead header's value
 * (a timing), which must still be a number of milliseconds with two decimals.
 */
import http2 from "node:http2";
import { openRawCall } from "../security/raw-grpc.ts";

/** One call as the client saw it. */
export interface WireCapture {
  /** `name: value` in wire order; `date` left out, the overhead header's value replaced by `<ms>`. */
  readonly headers: readonly string[];
  /** The response ended with its HEADERS frame (no DATA, no trailers). */
  readonly headersEndStream: boolean;
  /** Each message: its flag byte and payload as hex. */
  readonly messages: readonly string[];
  /** Bytes after the last whole message (a cut-off message), as hex; "" normally. */
  readonly leftover: string;
  /** `name: value` in wire order; undefined when no trailers came. */
  readonly trailers: readonly string[] | undefined;
  /** The RST_STREAM code the stream closed with (0: closed normally). */
  readonly rstCode: number;
}

/** How the client behaves. */
export interface CaptureOptions {
  /** Request headers besides :method, :path, content-type and te. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Cancels the call (RST_STREAM CANCEL) once this many messages have arrived. */
  readonly cancelAfterMessages?: number;
}

const OVERHEAD_HEADER = "x-llm-proxy-overhead-ms";
const HEADERS_END_STREAM = 0x1;

/** Sends one request (`body`: the whole request, envelope included) on a fresh h2c connection to `url`. */
export function captureRpc(
  url: string,
  path: string,
  body: Buffer,
  options: CaptureOptions = {},
): Promise<WireCapture> {
  return new Promise((resolve, reject) => {
    const { session, stream } = openRawCall(url, path, options.headers ?? {}, reject);
    let headers: string[] = [];
    let headersEndStream = false;
    let trailers: string[] | undefined;
    let pending = Buffer.alloc(0);
    const messages: string[] = [];
    stream.on("response", (_headers, flags, raw) => {
      headers = pairs(raw)
        .filter(([name]) => name !== "date")
        .map(maskOverhead);
      headersEndStream = (flags & HEADERS_END_STREAM) !== 0;
    });
    stream.on("trailers", (_trailers, _flags, raw) => {
      trailers = pairs(raw).map(([name, value]) => `${name}: ${value}`);
    });
    stream.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const end = 5 + pending.readUInt32BE(1);
        messages.push(
          `${pending.subarray(0, 1).toString("hex")} ${pending.subarray(5, end).toString("hex")}`,
        );
        pending = pending.subarray(end);
      }
      const cancelAt = options.cancelAfterMessages;
      if (cancelAt !== undefined && messages.length >= cancelAt && !stream.closed) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    });
    // A reset stream reports an error; what was seen up to it is the capture.
    stream.on("error", () => {});
    stream.on("close", () => {
      const rstCode = stream.rstCode ?? 0;
      session.close();
      resolve({
        headers,
        headersEndStream,
        messages,
        leftover: pending.toString("hex"),
        trailers,
        rstCode,
      });
    });
    stream.end(body);
  });
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) out.push([raw[index] ?? "", raw[index + 1] ?? ""]);
  return out;
}

function maskOverhead([name, value]: [string, string]): string {
  if (name !== OVERHEAD_HEADER) return `${name}: ${value}`;
  return `${name}: ${/^\d+\.\d{2}$/.test(value) ? "<ms>" : `malformed ${value}`}`;
}
