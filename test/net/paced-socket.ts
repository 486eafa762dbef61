/**
 * A client socket for h2 tests that controls how the HTTP/2 preface reaches the server (split across reads
 * or coalesced with the first frames) and can half-close the TCP connection.
 */
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { sleep } from "./net-test-kit.ts";

/** How the test socket delivers the client's first bytes to the server (undefined: as written). */
export type FirstBytes =
  /** The first write goes out in pieces of these sizes, 15 ms apart (preface split across reads). */
  | { readonly split: readonly number[] }
  /** Writes of the first `coalesceMs` are held and sent as one segment (preface, SETTINGS and HEADERS together). */
  | { readonly coalesceMs: number };

/**
 * A Duplex over a real TCP socket for `http2.connect({ createConnection })`, so the test controls how the
 * preface is segmented and can half-close the TCP connection (the session's own socket forbids `end()`).
 */
export class PacedSocket extends Duplex {
  readonly tcp: net.Socket;
  #pending: Buffer[] = [];
  #firstBytes: FirstBytes | undefined;

  constructor(port: number, firstBytes?: FirstBytes) {
    super();
    this.#firstBytes = firstBytes;
    this.tcp = net.connect({ host: "127.0.0.1", port });
    this.tcp.setNoDelay(true);
    this.tcp.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) this.tcp.pause();
    });
    this.tcp.on("end", () => this.push(null));
    this.tcp.on("error", (error) => this.destroy(error));
    this.tcp.on("close", () => this.destroy());
    if (firstBytes !== undefined && "coalesceMs" in firstBytes) {
      setTimeout(() => {
        this.#firstBytes = undefined;
        this.tcp.write(Buffer.concat(this.#pending));
        this.#pending = [];
      }, firstBytes.coalesceMs);
    }
  }

  override _read(): void {
    this.tcp.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const firstBytes = this.#firstBytes;
    if (firstBytes === undefined) {
      this.tcp.write(chunk, callback);
    } else if ("coalesceMs" in firstBytes) {
      this.#pending.push(chunk);
      callback();
    } else {
      this.#firstBytes = undefined;
      void writeInPieces(this.tcp, chunk, firstBytes.split).then(() => callback(), callback);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The server may already have closed the TCP side (the FIN tests provoke exactly that).
    if (this.tcp.writableEnded || this.tcp.destroyed) {
      callback();
      return;
    }
    this.tcp.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.tcp.destroy();
    callback(error);
  }
}

async function writeInPieces(socket: net.Socket, chunk: Buffer, sizes: readonly number[]): Promise<void> {
  let offset = 0;
  for (const size of sizes) {
    socket.write(chunk.subarray(offset, offset + size));
    offset += size;
    await sleep(15);
  }
  if (offset < chunk.length) socket.write(chunk.subarray(offset));
}

/**
 * An h2c session over a PacedSocket; the socket is returned so the test can half-close it. Not awaiting
 * 'connect' lets the first request's HEADERS join the preface inside the coalescing window.
 */
export function connectPacedHttp2(
  port: number,
  firstBytes?: FirstBytes,
): { session: http2.ClientHttp2Session; socket: PacedSocket } {
  const socket = new PacedSocket(port, firstBytes);
  const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket });
  return { session, socket };
}
