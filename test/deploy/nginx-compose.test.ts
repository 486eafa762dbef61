/**
 * deploy/nginx/compose.conf, the nginx of deploy/compose.yaml, run by Debian's nginx in front of three gateways on
 * loopback (the compose file's three replicas): `nginx -t` accepts it, SSE and gRPC streams come through
 * unbuffered, gRPC goes through `grpc_pass` over h2c, both protocols spread over all three replicas, a replica that
 * went away is skipped, and the admin routes are refused through it. It also keeps every proxy_* and grpc_*
 * setting of llm-proxy.conf, the systemd deployment's site, so the two do not drift apart.
 *
 * Upstream names: the shipped file names the compose services (`server llm-proxy-1:9000`), which nginx resolves
 * when it loads the config, and which resolve only inside compose's network. This test rewrites exactly those
 * `server` lines to the loopback gateways (plus listen ports and log paths) and checks everything else as shipped.
 * That is the least invasive choice: a `resolver` with variables in `grpc_pass`/`proxy_pass` would let `nginx -t`
 * pass unresolved names, but it bypasses upstream blocks and so loses the kept-alive upstream connections and
 * per-server failure counting that the site is for; writing an /etc/hosts entry needs root and changes the machine.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collectMessages,
  type GrpcChatResponse,
  grpcChatClient,
  requestIdMetadata,
} from "../helpers/grpc-js-client.ts";
import {
  checkNginx,
  type LoopbackSite,
  nginxComplaints,
  readTimed,
  startSiteOnLoopback,
} from "../helpers/nginx.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const SITE = new URL("../../deploy/nginx/compose.conf", import.meta.url);
const SYSTEMD_SITE = new URL("../../deploy/nginx/llm-proxy.conf", import.meta.url);
const REPLICAS = ["llm-proxy-1", "llm-proxy-2", "llm-proxy-3"] as const;
const CONFIG = `
model_config: {echo-1: echo, echo-slow: echo-slow}
providers:
  echo-slow: {type: echo, token_delay_ms: 150}
`;

let gateways: RunningServer[] = [];
let nginx: LoopbackSite;

beforeAll(async () => {
  gateways = await Promise.all(REPLICAS.map(() => startServer(CONFIG)));
  nginx = await startSiteOnLoopback(
    SITE,
    REPLICAS.map((name, index) => [`${name}:9000`, gateways[index]?.port] as const),
  );
});

afterAll(async () => {
  await nginx?.stop();
  for (const gateway of gateways) await gateway.close().catch(() => undefined);
});

/** How many of `ids` each replica logged as completed requests. */
function servedBy(ids: readonly string[]): number[] {
  return gateways.map(
    (gateway) =>
      gateway.logs.filter((line) => line.msg === "request completed" && ids.includes(String(line.requestId)))
        .length,
  );
}

function chat(body: object, requestId: string): Promise<Response> {
  return fetch(`${nginx.httpUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify(body),
  });
}

describe("deploy/nginx/compose.conf", () => {
  it("passes nginx -t, its upstreams being the compose file's three replicas", () => {
    const site = readFileSync(SITE, "utf8");
    for (const upstream of ["llm_proxy", "llm_proxy_grpc"]) {
      const block = new RegExp(`upstream ${upstream} \\{([^}]*)\\}`).exec(site)?.[1] ?? "";
      expect([...block.matchAll(/server ([\w-]+):9000 /g)].map((match) => match[1])).toEqual([...REPLICAS]);
      expect(block).toMatch(/^\s*keepalive \d+;/m);
    }
    const checked = checkNginx(nginx.prefix);
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stderr).toContain("test is successful");
    expect(nginxComplaints(checked.stderr)).toEqual([]);
  });

  it("keeps every proxy_* and grpc_* setting of the systemd deployment's site", () => {
    const directives = (text: string): string[] =>
      text
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => /^(proxy|grpc)_\w+ /.test(line) && !/^(proxy|grpc)_pass /.test(line));
    const compose = new Set(directives(readFileSync(SITE, "utf8")));
    const systemd = directives(readFileSync(SYSTEMD_SITE, "utf8"));
    expect(systemd.length).toBeGreaterThan(10);
    expect(systemd.filter((line) => !compose.has(line))).toEqual([]);
    expect(compose).toContain("proxy_buffering off;");
    expect(compose).toContain("proxy_http_version 1.1;");
    expect(compose).toContain('proxy_set_header Connection "";');
    expect(readFileSync(SITE, "utf8")).toMatch(/^\s*grpc_pass grpc:\/\/llm_proxy_grpc;/m);
  });

  it("streams SSE unbuffered: the first chunk arrives long before the stream ends", async () => {
    const started = performance.now();
    const response = await chat(
      {
        model: "echo-slow",
        messages: [{ role: "user", content: "one two three four five six" }],
        stream: true,
      },
      "rid-compose-sse",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("rid-compose-sse");
    const { text, firstAt, endedAt } = await readTimed(response);
    expect(text).toContain("data: [DONE]");
    // Six tokens 150 ms apart: buffered, everything would come at the end.
    expect(endedAt - firstAt).toBeGreaterThan(500);
    expect(firstAt - started).toBeLessThan(400);
  });

  it("streams gRPC through grpc_pass over h2c, message by message", async () => {
    const client = grpcChatClient(nginx.grpcPort);
    try {
      const call = client.StreamChatCompletion(
        { model: "echo-slow", messages: [{ role: "user", content: "one two three four five six" }] },
        requestIdMetadata("rid-compose-grpc"),
      );
      const arrivals: number[] = [];
      call.on("data", () => arrivals.push(performance.now()));
      const chunks = await collectMessages(call);
      expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("")).toBe(
        "one two three four five six",
      );
      expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(500);
      const logged = gateways
        .flatMap((gateway) => gateway.logs)
        .filter((line) => line.requestId === "rid-compose-grpc" && line.msg === "request completed");
      expect(logged.map((line) => line.protocol)).toEqual(["grpc"]);
    } finally {
      client.close();
    }
  });

  it("spreads HTTP requests and gRPC calls over all three replicas", async () => {
    const httpIds = Array.from({ length: 6 }, (_, index) => `rid-compose-http-${index}`);
    for (const id of httpIds) {
      const response = await chat({ model: "echo-1", messages: [{ role: "user", content: "hi" }] }, id);
      expect(response.status).toBe(200);
      await response.json();
    }
    expect(servedBy(httpIds).every((count) => count > 0)).toBe(true);

    const client = grpcChatClient(nginx.grpcPort);
    try {
      const grpcIds = Array.from({ length: 6 }, (_, index) => `rid-compose-unary-${index}`);
      for (const id of grpcIds) {
        const answer = await new Promise<GrpcChatResponse | undefined>((resolve, reject) => {
          client.CreateChatCompletion(
            { model: "echo-1", messages: [{ role: "user", content: "hi" }] },
            requestIdMetadata(id),
            {},
            (error, response) => (error === null ? resolve(response) : reject(error)),
          );
        });
        expect(answer?.choices?.[0]?.message?.content).toBe("hi");
      }
      // One HTTP/2 connection from the client; nginx balances each call on its own.
      expect(servedBy(grpcIds).every((count) => count > 0)).toBe(true);
    } finally {
      client.close();
    }
  });

  it("admin routes reached through nginx are refused while the gateways have no admin keys", async () => {
    expect((await fetch(`${nginx.httpUrl}/config`)).status).toBe(403);
    expect((await fetch(`${nginx.httpUrl}/config/reload`, { method: "POST" })).status).toBe(403);
  });

  it("skips a replica that went away (a refused connection moves on to the next one)", async () => {
    await gateways[2]?.close();
    const ids = Array.from({ length: 6 }, (_, index) => `rid-compose-gone-${index}`);
    for (const id of ids) {
      const response = await chat({ model: "echo-1", messages: [{ role: "user", content: "hi" }] }, id);
      expect(response.status).toBe(200);
      await response.json();
    }
    const served = servedBy(ids);
    expect(served[2]).toBe(0);
    expect((served[0] ?? 0) + (served[1] ?? 0)).toBe(ids.length);
  });
});
