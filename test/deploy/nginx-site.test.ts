/**
 * deploy/nginx/llm-proxy.conf, run by Debian's nginx in front of two gateways on loopback (as the site's two
 * upstream instances): `nginx -t` accepts it, SSE comes through unbuffered, gRPC goes through `grpc_pass` over h2c,
 * request ids are forwarded (the caller's or nginx's own), both instances serve, and the admin routes, reached
 * through the proxy with no admin keys, are refused. Only the ports and log paths of the shipped file are
 * changed. CI installs nginx when it is missing (.ci/run). The gateway's SSE answers carry `X-Accel-Buffering: no`
 * as well, so the stream check proves the path through this site, not `proxy_buffering off` alone; the site is
 * checked to say it too.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectMessages, grpcChatClient, requestIdMetadata } from "../helpers/grpc-js-client.ts";
import {
  checkNginx,
  type LoopbackSite,
  nginxComplaints,
  readTimed,
  startSiteOnLoopback,
} from "../helpers/nginx.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const SITE = new URL("../../deploy/nginx/llm-proxy.conf", import.meta.url);
const CONFIG = `
model_config: {echo-1: echo, echo-slow: echo-slow}
providers:
  echo-slow: {type: echo, token_delay_ms: 150}
`;

let gateways: RunningServer[] = [];
let nginx: LoopbackSite;

beforeAll(async () => {
  gateways = [await startServer(CONFIG), await startServer(CONFIG)];
  // The shipped site with loopback ports and log paths of this test; each replaced text must exist.
  nginx = await startSiteOnLoopback(SITE, [
    ["127.0.0.1:9000", gateways[0]?.port],
    ["127.0.0.1:9001", gateways[1]?.port],
  ]);
});

afterAll(async () => {
  await nginx?.stop();
  for (const gateway of gateways) await gateway.close();
});

describe("deploy/nginx/llm-proxy.conf", () => {
  it("passes nginx -t inside an http block, as conf.d includes it", () => {
    const checked = checkNginx(nginx.prefix);
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stderr).toContain("test is successful");
    // nginx 1.25.1 and later prefer `http2 on;` to `listen … http2` (the site's comment says so); 1.22 knows only
    // the latter, so that one warning is allowed.
    expect(nginxComplaints(checked.stderr)).toEqual([]);
  });

  it("streams SSE unbuffered: the first chunk arrives long before the stream ends", async () => {
    expect(readFileSync(SITE, "utf8")).toMatch(/^\s*proxy_buffering off;/m);
    const started = performance.now();
    const response = await fetch(`${nginx.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "rid-nginx-sse" },
      body: JSON.stringify({
        model: "echo-slow",
        messages: [{ role: "user", content: "one two three four five six" }],
        stream: true,
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("rid-nginx-sse");
    const { text, firstAt, endedAt } = await readTimed(response);
    expect(text).toContain("data: [DONE]");
    // Six tokens 150 ms apart: buffered, everything would come at the end.
    expect(endedAt - firstAt).toBeGreaterThan(500);
    expect(firstAt - started).toBeLessThan(400);
  });

  it("forwards the caller's request id, or nginx's own, and spreads requests over both instances", async () => {
    const ids: string[] = [];
    for (let index = 0; index < 4; index++) {
      const response = await fetch(`${nginx.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(response.status).toBe(200);
      await response.json();
      ids.push(response.headers.get("x-request-id") ?? "");
    }
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    const served = gateways.map((gateway) =>
      gateway.logs.filter((line) => ids.includes(String(line.requestId))),
    );
    expect(served[0]?.length).toBeGreaterThan(0);
    expect(served[1]?.length).toBeGreaterThan(0);
    expect(readFileSync(join(nginx.prefix.dir, "llm-proxy.access.log"), "utf8")).toContain(
      `request_id=${ids[0]}`,
    );
  });

  it("carries gRPC over h2c with grpc_pass, request id included", async () => {
    const client = grpcChatClient(nginx.grpcPort);
    try {
      const chunks = await collectMessages(
        client.StreamChatCompletion(
          { model: "echo-1", messages: [{ role: "user", content: "Hello there" }] },
          requestIdMetadata("rid-nginx-grpc"),
        ),
      );
      expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? "").join("")).toBe("Hello there");
      const logged = gateways
        .flatMap((gateway) => gateway.logs)
        .filter((line) => line.requestId === "rid-nginx-grpc");
      expect(logged.some((line) => line.protocol === "grpc" && line.msg === "request completed")).toBe(true);
    } finally {
      client.close();
    }
  });

  it("admin routes reached through nginx are refused while the gateway has no admin keys", async () => {
    const config = await fetch(`${nginx.httpUrl}/config`);
    expect(config.status).toBe(403);
    const reload = await fetch(`${nginx.httpUrl}/config/reload`, { method: "POST" });
    expect(reload.status).toBe(403);
  });
});
