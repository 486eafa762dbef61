/**
 * A raw HTTP/1.1 client for hostile-input tests: sends exact bytes (malformed framing, invalid UTF-8, control
 * characters in headers) that well-behaved clients refuse to produce, and parses whatever comes back.
 */
import { connect } from "node:net";

/** A parsed response. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Sends `bytes` on a fresh connection and reads the response until the server closes it. */
export function sendRaw(port: number, bytes: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no complete response in time"));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const parsed = tryParse(Buffer.concat(chunks));
      if (parsed !== undefined) {
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed);
      }
    });
    // The server may close while we still write (413): what it answered is what counts.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const parsed = tryParse(Buffer.concat(chunks));
      if (parsed === undefined)
        reject(
          new Error(
            `connection closed without a full response: ${Buffer.concat(chunks).toString("latin1").slice(0, 200)}`,
          ),
        );
      else resolve(parsed);
    });
    socket.write(bytes);
  });
}

/** A POST to `path` with the given body bytes and extra header lines, closing the connection afterwards. */
export function post(
  body: Buffer | string,
  options: { path?: string; headers?: string[]; method?: string } = {},
): Buffer {
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const head = [
    `${options.method ?? "POST"} ${options.path ?? "/v1/chat/completions"} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Connection: close",
    ...(options.headers ?? ["Content-Type: application/json"]),
    `Content-Length: ${payload.length}`,
  ].join("\r\n");
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, "latin1"), payload]);
}

function tryParse(data: Buffer): RawResponse | undefined {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const lines = data.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(end + 4);
  if (headers["transfer-encoding"] === "chunked") {
    const body = dechunk(rest);
    return body === undefined ? undefined : { status, headers, body };
  }
  const length = Number(headers["content-length"] ?? "0");
  if (rest.length < length) return undefined;
  return { status, headers, body: rest.subarray(0, length).toString("utf8") };
}

function dechunk(data: Buffer): string | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", offset);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString("latin1"), 16);
    if (size === 0) return Buffer.concat(parts).toString("utf8");
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}
