/** A TCP port on 127.0.0.1 that the OS just handed out and took back. */
import { createServer } from "node:net";

/**
 * For what cannot listen on port 0 and report it (nginx, redis-server, PostgreSQL), or a port nothing listens on.
 * Another process may take it in between: the same small race every such helper has.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port from the OS");
  return address.port;
}
