/**
 * `server.max_connections`: a cap on the client connections one process holds open, enforced where they are
 * accepted. A connection that arrives while the cap is reached is closed at once, before any byte is read or
 * written (the client sees the connection reset or closed), and counted.
 *
 * Node's own `server.maxConnections` is not used: in a cluster worker (`server.workers` > 1) a connection it
 * refuses goes back to the primary, which hands it to a worker again, so it is never closed. Instead one
 * 'connection' listener runs the server's own listeners (the one-port sniffer, or TLS) only for accepted sockets;
 * it works the same on the cleartext dual server and the TLS server, in one process or many.
 */
import type { Server, Socket } from "node:net";
import type { FastifyBaseLogger } from "fastify";

/** The cap of one server, as /metrics reports it. */
export interface ConnectionCap {
  /** The cap in force (it follows config reloads). */
  limit(): number;
  /** Client connections open now. */
  open(): number;
  /** Connections closed on arrival because the cap was reached, since start. */
  refused(): number;
}

/** At most one warning per this many milliseconds while connections are being refused. */
const WARN_EVERY_MS = 60_000;

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Puts `server`'s 'connection' listeners behind the cap `limit()` returns; call once, before it listens. */
export function capConnections(
  server: Server,
  limit: () => number,
  log: Pick<FastifyBaseLogger, "warn">,
): ConnectionCap {
  const listeners = server.listeners("connection") as ConnectionListener[];
  server.removeAllListeners("connection");
  let open = 0;
  let refused = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;
  server.on("connection", (socket: Socket) => {
    if (open >= limit()) {
      refused += 1;
      socket.destroy();
      const now = performance.now();
      if (now - warnedAt >= WARN_EVERY_MS) {
        warnedAt = now;
        log.warn(
          { open, limit: limit(), refused },
          "server.max_connections reached: closing new connections",
        );
      }
      return;
    }
    open += 1;
    socket.once("close", () => {
      open -= 1;
    });
    for (const listener of listeners) listener.call(server, socket);
  });
  return { limit, open: () => open, refused: () => refused };
}
