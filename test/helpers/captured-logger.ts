/** A pino logger like the server's (same redaction) that keeps every line it writes, parsed, for tests to assert on. */
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { REDACTED_LOG_PATHS } from "../../src/server.ts";

/** The logger and the lines it has written so far, in order. */
export interface CapturedLogger {
  readonly loggerInstance: Logger;
  readonly logs: Record<string, unknown>[];
}

export function createCapturedLogger(level = "info"): CapturedLogger {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(JSON.parse(line));
      callback();
    },
  });
  const loggerInstance = pino(
    { level, redact: { paths: [...REDACTED_LOG_PATHS], censor: "[redacted]" } },
    sink,
  );
  return { loggerInstance, logs };
}
