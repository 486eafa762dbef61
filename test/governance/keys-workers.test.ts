/**
 * Virtual keys with the real process: `server.workers: 2` on the default store file (data/llm-proxy.db beside the
 * config), a key created or revoked through one worker holds on every worker within a second, and it all survives
 * a restart. A store file that cannot be opened stops the start with a message naming it.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Agent, request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import {
  type GatewayChild,
  killGatewayProcesses,
  runGatewayToExit,
  spawnGateway,
  waitForGateway,
  writeTempConfig,
} from "../helpers/gateway-process.ts";

const ADMIN = "admin-key-workers-0123456789";
const configFile = writeTempConfig(
  `model_config: {echo-1: echo}\nserver: {workers: 2, watch_config: false}\n` +
    `auth: {admin_keys: [{name: ops, key: ${ADMIN}}]}\n`,
);

afterAll(killGatewayProcesses);

interface Started {
  readonly gateway: GatewayChild;
  readonly port: number;
  readonly lines: Record<string, unknown>[];
}

async function start(workers: number, config = configFile): Promise<Started> {
  const lines: Record<string, unknown>[] = [];
  const gateway = spawnGateway(["--config", config, "--host", "127.0.0.1", "--port", "0"], {
    onLine: (line) => {
      if (line.startsWith("{")) lines.push(JSON.parse(line));
    },
  });
  const ready = () => lines.filter((line) => line.msg === "llm-proxy ready").length;
  await waitForGateway(gateway, () => ready() >= workers, `${workers} ready workers`, 15_000);
  const port = lines.map((line) => /:(\d+)$/.exec(String(line.msg ?? ""))).find((match) => match !== null);
  return { gateway, port: Number(port?.[1]), lines };
}

/** One request on a fresh connection, so the cluster may hand it to either worker. */
async function call(
  port: number,
  method: "GET" | "POST" | "DELETE",
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown>; requestId: string }> {
  const dispatcher = new Agent({ pipelining: 0 });
  try {
    const response = await request(`http://127.0.0.1:${port}${path}`, {
      method,
      dispatcher,
      headers: {
        authorization: `Bearer ${key}`,
        connection: "close",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.body.json()) as Record<string, unknown>;
    return { status: response.statusCode, json, requestId: String(response.headers["x-request-id"]) };
  } finally {
    await dispatcher.close();
  }
}

function chat(port: number, key: string) {
  return call(port, "POST", "/v1/chat/completions", key, {
    model: "echo-1",
    messages: [{ role: "user", content: "hi" }],
  });
}

/** The worker pids that wrote the access lines of these request ids. */
async function servedBy(started: Started, requestIds: readonly string[]): Promise<Set<number>> {
  const lineOf = (id: string) =>
    started.lines.find((line) => line.requestId === id && line.pid !== undefined);
  await expect.poll(() => requestIds.every((id) => lineOf(id) !== undefined)).toBe(true);
  return new Set(requestIds.map((id) => Number(lineOf(id)?.pid)));
}

describe("virtual keys across two workers and a restart", () => {
  let secret = "";
  let revokedSecret = "";

  it("a key created or revoked through one worker holds on both within a second", async () => {
    const started = await start(2);
    expect(existsSync(join(dirname(configFile), "data", "llm-proxy.db"))).toBe(true);
    const created = await call(started.port, "POST", "/admin/keys", ADMIN, { name: "shared" });
    expect(created.status).toBe(201);
    secret = String(created.json.key);
    const doomed = await call(started.port, "POST", "/admin/keys", ADMIN, { name: "doomed" });
    revokedSecret = String(doomed.json.key);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const accepted = await Promise.all(Array.from({ length: 12 }, () => chat(started.port, secret)));
    expect(accepted.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    const workers = await servedBy(
      started,
      accepted.map((answer) => answer.requestId),
    );
    expect(workers.size).toBe(2);

    const revoked = await call(started.port, "DELETE", `/admin/keys/${doomed.json.id}`, ADMIN);
    expect(revoked.json).toMatchObject({ revoked: true });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const refused = await Promise.all(Array.from({ length: 12 }, () => chat(started.port, revokedSecret)));
    expect(refused.map((answer) => answer.status)).toEqual(Array(12).fill(401));
    expect(refused[0]?.json.error).toMatchObject({ code: "invalid_api_key" });
    expect(
      (
        await servedBy(
          started,
          refused.map((answer) => answer.requestId),
        )
      ).size,
    ).toBe(2);

    started.gateway.child.kill("SIGTERM");
    expect((await started.gateway.exited).code).toBe(0);
  });

  it("after a restart on the same file the key still works and the revoked one stays refused", async () => {
    const storePath = join(dirname(configFile), "data", "llm-proxy.db");
    const started = await start(
      1,
      writeTempConfig(
        `model_config: {echo-1: echo}\nstore: {path: ${storePath}}\nserver: {watch_config: false}\n`,
      ),
    );
    expect((await chat(started.port, secret)).status).toBe(200);
    expect((await chat(started.port, revokedSecret)).status).toBe(401);
    // Without a key: refused, since the store holds an active key.
    expect((await chat(started.port, "")).status).toBe(401);
    started.gateway.child.kill("SIGTERM");
    expect((await started.gateway.exited).code).toBe(0);
  });
});

describe("a store file that cannot be opened", () => {
  it("stops the start with the path and the cause: a damaged file, a folder that cannot be made", async () => {
    const damagedConfig = writeTempConfig("model_config: {echo-1: echo}\nstore: {path: state/gw.db}\n");
    const damaged = join(dirname(damagedConfig), "state", "gw.db");
    mkdirSync(dirname(damaged));
    writeFileSync(damaged, "this is not a SQLite file ".repeat(200));
    const blockedConfig = writeTempConfig("model_config: {echo-1: echo}\nstore: {path: blocked/gw.db}\n");
    writeFileSync(join(dirname(blockedConfig), "blocked"), "a file where the folder should be");
    const args = ["--host", "127.0.0.1", "--port", "0"];
    const [first, second] = await Promise.all([
      runGatewayToExit(["--config", damagedConfig, ...args]),
      runGatewayToExit(["--config", blockedConfig, ...args]),
    ]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`llm-proxy: store ${damaged}: file is not a database`);
    expect(first.stderr).not.toMatch(/\n\s+at /);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `llm-proxy: store ${join(dirname(blockedConfig), "blocked", "gw.db")}: cannot create its folder`,
    );
  });
});
