/**
 * `buf curl` (connect-go's client: a third stack, independent of connect-node and grpc-js) from node_modules,
 * and the way it prints a stream.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUF = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

/** Flags for a gRPC call over h2c (prior knowledge) with the schema compiled from proto/. */
export const GRPC_WITH_PROTO_SCHEMA = [
  "--schema",
  "proto",
  "--protocol",
  "grpc",
  "--http2-prior-knowledge",
] as const;

/** What one `buf curl` run printed and its exit code. */
export interface BufCurlOutcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `buf curl ...args` in `cwd` (default: the project root, where `--schema proto` finds proto/); never rejects. */
export function bufCurl(args: readonly string[], cwd = PROJECT_ROOT): Promise<BufCurlOutcome> {
  return new Promise((resolve) => {
    execFile(BUF, ["curl", ...args], { cwd, timeout: 15_000 }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ exitCode, stdout, stderr });
    });
  });
}

/** The messages of a stream: buf prints each as pretty JSON starting at column 0, nested lines indented. */
export function parseBufMessages(stdout: string): unknown[] {
  return stdout
    .trim()
    .split(/\n(?=\{)/)
    .map((text): unknown => JSON.parse(text));
}
