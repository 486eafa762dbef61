/**
 * PostgreSQL for the scale tests, two ways:
 * - `startPrivatePostgres`: a server of the test's own (initdb into a temporary folder, a port from the OS), which a
 *   fault test may stop and start again without touching the shared server the other tests use;
 * - `createScratchDatabase`: a fresh database on the shared server (127.0.0.1:5432, trust auth), dropped after,
 *   so test files running at once never see each other's rows.
 * PostgreSQL refuses to run as root: as root, the server binaries run as the `postgres` user (runuser), which owns
 * the temporary folder.
 */
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.ts";

const run = promisify(execFile);

/** The shared server of the development machines and CI. `PG_TEST_URL` points the tests elsewhere. */
export const SHARED_POSTGRES_URL = process.env.PG_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Where Debian and this machine keep the server binaries; the first folder holding initdb wins. */
const BINARY_FOLDERS = [
  "/usr/local/bin",
  "/usr/lib/postgresql/17/bin",
  "/usr/lib/postgresql/16/bin",
  "/usr/lib/postgresql/15/bin",
];

function serverBinary(name: "initdb" | "pg_ctl"): string {
  const folder = BINARY_FOLDERS.find((candidate) => existsSync(join(candidate, "initdb")));
  if (folder === undefined) throw new Error(`no PostgreSQL server binaries in ${BINARY_FOLDERS.join(", ")}`);
  return join(folder, name);
}

const isRoot = process.getuid?.() === 0;

/** Runs a server binary, as the postgres user when this process is root. */
async function runServerBinary(name: "initdb" | "pg_ctl", args: readonly string[]): Promise<void> {
  const [command, commandArgs] = serverCommand(name, args);
  await run(command, commandArgs, { timeout: 60_000 });
}

/** The command line of a server binary: through runuser as the postgres user when this process is root. */
function serverCommand(name: "initdb" | "pg_ctl", args: readonly string[]): [string, string[]] {
  const binary = serverBinary(name);
  return isRoot ? ["runuser", ["-u", "postgres", "--", binary, ...args]] : [binary, [...args]];
}

async function postgresOwner(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** Stops the server at once (`immediate`: as a crash would, connections cut without goodbye). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it if running and deletes its folder. */
  destroy(): Promise<void>;
}

/** initdb into a temporary folder, then start on a free port; resolves once it accepts connections. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const folder = mkdtempSync(join(tmpdir(), "llm-proxy-pg-"));
  if (isRoot) {
    const owner = await postgresOwner();
    chownSync(folder, owner.uid, owner.gid);
  }
  const data = join(folder, "data");
  await runServerBinary("initdb", [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
  ]);
  const port = await freePort();
  // fsync off: the data is thrown away after the test; the socket folder is ours, not /var/run/postgresql.
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  let running = false;
  const start = async (): Promise<void> => {
    await runServerBinary("pg_ctl", [
      "-D",
      data,
      "-o",
      options,
      "-l",
      join(folder, "server.log"),
      "-w",
      "-t",
      "30",
      "start",
    ]);
    running = true;
  };
  const stop = async (): Promise<void> => {
    await runServerBinary("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
    running = false;
  };
  // A test file that dies before its afterAll must not leave a server running: stopped as this process exits.
  const stopAtExit = (): void => {
    if (!running) return;
    const [command, args] = serverCommand("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
    spawnSync(command, args, { stdio: "ignore", timeout: 10_000 });
    rmSync(folder, { recursive: true, force: true });
  };
  process.once("exit", stopAtExit);
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    destroy: async () => {
      process.off("exit", stopAtExit);
      if (running) await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops it (closing whatever connections are still open to it). */
  drop(): Promise<void>;
}

/** A new, empty database `llmp_<random>` on the server at `serverUrl` (default: the shared one). */
export async function createScratchDatabase(serverUrl = SHARED_POSTGRES_URL): Promise<ScratchDatabase> {
  const name = `llmp_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** One statement on its own connection (CREATE/DROP DATABASE cannot run inside a pool's transaction). */
async function adminQuery(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The rows of one statement, on a connection of its own (tests reading what the gateway wrote). */
export async function queryRows(url: string, statement: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(statement)).rows;
  } finally {
    await client.end();
  }
}
