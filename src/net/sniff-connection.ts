/**
 * Reads the first bytes of a fresh TCP connection to pick HTTP/1.1 or h2c, then gives the socket back with
 * those bytes pushed back into its read buffer, paused, so the next owner parses the stream from byte 0.
 */
import type { Socket } from "node:net";
import { classifyPreface, type SniffedProtocol } from "./h2-preface.ts";

/** Why a connection was dropped before its protocol was known. */
export type SniffAbandonReason = "timeout" | "end" | "error";

export interface SniffHandlers {
  /** Milliseconds the peer has to send enough bytes to decide; then the socket is destroyed. */
  readonly timeoutMs: number;
  /**
   * Called once with the socket paused and the sniffed bytes unshifted. The callee must not drop them:
   * the http2 path must NOT resume the socket (http2 reads `socket.readableLength` itself on the next tick;
   * a resume would emit the preface to nobody), the http1 path must resume it after attaching its parser.
   */
  readonly onProtocol: (protocol: SniffedProtocol, socket: Socket) => void;
  /** Called after the socket was destroyed without a decision (no data in time, FIN, or socket error). */
  readonly onAbandon: (reason: SniffAbandonReason, socket: Socket, error?: Error) => void;
}

/** Starts sniffing `socket`; exactly one of `onProtocol`/`onAbandon` runs unless the socket closes first. */
export function sniffConnection(socket: Socket, handlers: SniffHandlers): void {
  let received: Buffer = Buffer.alloc(0);

  const detach = (): void => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("error", onError);
    socket.off("close", detach);
  };
  const abandon = (reason: SniffAbandonReason, error?: Error): void => {
    detach();
    socket.destroy();
    handlers.onAbandon(reason, socket, error);
  };
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const protocol = classifyPreface(received);
    if (protocol === undefined) return;
    // Pause before detaching: a flowing socket with no 'data' listener drops what it reads.
    socket.pause();
    detach();
    socket.unshift(received);
    handlers.onProtocol(protocol, socket);
  };
  // The peer closed its side before we could tell what it speaks (wrk does this at shutdown): nobody
  // else knows this socket, so it would stay half-open forever.
  const onEnd = (): void => abandon("end");
  const onError = (error: Error): void => abandon("error", error);
  // A silent peer is known to neither http server and would keep server.close() waiting.
  const timer = setTimeout(() => abandon("timeout"), handlers.timeoutMs);
  timer.unref();

  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("error", onError);
  socket.on("close", detach);
}
