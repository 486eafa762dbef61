/**
 * Issue 23 item 2, through real sockets and the openai SDK: one access line per request and nothing else at info,
 * a client's 4xx logged without a stack trace, every retry's warn line naming its cause (DNS failure, refused
 * connection, 429, first-token timeout), and the client's error naming the vendor host it could not reach.
 */
import { createServer } from "node:net";
import type OpenAI from "openai";
import type { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createUndiciTransport } from "../../src/providers/transport.ts";
import type { UpstreamRequest, UpstreamTransport } from "../../src/providers/types.ts";
import { startChatGateway } from "../helpers/chat-gateway.ts";
import { type FaultUpstream, startFaultUpstream } from "../helpers/fault-upstream.ts";
import { openAIClient, sdkComplete } from "../helpers/resilience-clients.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const INFO = 30;
const WARN = 40;

let vendor: FaultUpstream;
let gateway: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  vendor = await startFaultUpstream();
  gateway = await startChatGateway(
    vendor,
    "proxy: {max_retries: 1, max_retry_wait: 2, first_token_timeout: 0.3}",
  );
  client = openAIClient(gateway.url);
});
afterAll(async () => {
  await gateway?.close();
  await vendor?.close();
});
beforeEach(() => vendor.clear());

function linesOf(server: RunningServer, requestId: string): Record<string, unknown>[] {
  return server.logs.filter((line) => line.requestId === requestId);
}

/** Every log line of the request, as text: a stack trace shows up as "    at " wherever it hides. */
function textOf(lines: readonly Record<string, unknown>[]): string {
  return lines.map((line) => JSON.stringify(line)).join("\n");
}

async function accessLineOf(server: RunningServer, requestId: string): Promise<Record<string, unknown>> {
  for (let waited = 0; waited < 2_000; waited += 10) {
    const line = linesOf(server, requestId).find((entry) => entry.msg === "request completed");
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no access line for ${requestId}`);
}

describe("one access line per request", () => {
  it("a successful chat writes exactly one line at info, the access line", async () => {
    const result = await sdkComplete(client, "chat", "rid-one-line");
    expect(result.text).toBe("Hello from the mock");
    await accessLineOf(gateway, "rid-one-line");
    const atInfo = linesOf(gateway, "rid-one-line").filter((line) => line.level === INFO);
    expect(atInfo.map((line) => line.msg)).toEqual(["request completed"]);
    expect(atInfo[0]).toMatchObject({ statusCode: 200, outcome: "ok", model: "chat" });
  });

  it("an unknown route (404), bad JSON (400) and an unknown model (404): one line each, no stack trace", async () => {
    const cases = [
      { id: "rid-404-route", path: "/nope", init: {}, status: 404 },
      {
        id: "rid-400-json",
        path: "/v1/chat/completions",
        init: { method: "POST", headers: { "content-type": "application/json" }, body: "{bad" },
        status: 400,
      },
      {
        id: "rid-404-model",
        path: "/v1/chat/completions",
        init: {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }),
        },
        status: 404,
      },
    ];
    for (const { id, path, init, status } of cases) {
      const { headers = {}, ...rest } = init as RequestInit & { headers?: Record<string, string> };
      const response = await fetch(`${gateway.url}${path}`, {
        ...rest,
        headers: { ...headers, "x-request-id": id },
      });
      expect(response.status).toBe(status);
      await response.text();
      const access = await accessLineOf(gateway, id);
      expect(access.statusCode).toBe(status);
      const lines = linesOf(gateway, id);
      expect(
        lines.filter((line) => (line.level as number) >= INFO),
        id,
      ).toHaveLength(1);
      expect(textOf(lines), id).not.toMatch(/"stack"|\\n\s+at /);
    }
  });
});

describe("retries name their cause", () => {
  it("a 429: the warn line says 429, then the retry serves", async () => {
    vendor.script([{ kind: "error", status: 429, headers: { "retry-after-ms": "10" } }, { kind: "stream" }]);
    const result = await sdkComplete(client, "chat", "rid-429");
    expect(result.text).toBe("Hello from the mock");
    const warn = linesOf(gateway, "rid-429").find((line) => line.msg === "upstream attempt failed");
    expect(warn).toMatchObject({ level: WARN, kind: "rate_limited", action: "retry" });
    expect(warn?.reason).toMatch(/^429\b/);
  });

  it("a first-token timeout: the warn line says how long it waited", async () => {
    vendor.script([{ kind: "stall" }, { kind: "stream" }]);
    const result = await sdkComplete(client, "chat", "rid-timeout");
    expect(result.text).toBe("Hello from the mock");
    const warn = linesOf(gateway, "rid-timeout").find((line) => line.msg === "upstream attempt failed");
    expect(warn).toMatchObject({ level: WARN, kind: "timeout" });
    expect(warn?.reason).toBe("No response from the upstream within 0.3 s.");
  });

  it("a refused connection: the warn lines and the client's error name the host and ECONNREFUSED", async () => {
    const port = await closedPort();
    const refused = await startServer(`
providers:
  vendor: {type: openai, base_url: "http://127.0.0.1:${port}/v1?api_key=sk-in-the-url-0123456789", api_key: "sk-literal-key-0123456789"}
model_config: {chat: vendor}
proxy: {max_retries: 1, max_retry_wait: 1}
`);
    try {
      const result = await sdkComplete(openAIClient(refused.url), "chat", "rid-refused");
      const error = result.error as APIError;
      expect(error.status).toBe(502);
      expect(error.message).toContain(
        `Could not reach the upstream provider 127.0.0.1:${port} (ECONNREFUSED).`,
      );
      const warns = linesOf(refused, "rid-refused").filter((line) => line.msg === "upstream attempt failed");
      expect(warns).toHaveLength(2);
      for (const warn of warns) expect(warn.reason).toContain(`127.0.0.1:${port} (ECONNREFUSED)`);
      const everything = `${error.message}\n${textOf(refused.logs)}`;
      expect(everything).not.toContain("sk-in-the-url");
      expect(everything).not.toContain("sk-literal-key");
    } finally {
      await refused.close();
    }
  });

  it("a DNS failure (ENOTFOUND) then a served retry: the warn line names the vendor host", async () => {
    const real = createUndiciTransport({ connectionsPerOrigin: 10, connectTimeoutMs: 2_000 });
    let calls = 0;
    // getaddrinfo would ask a DNS server (no network in tests): the first call fails as undici reports it.
    const transport: UpstreamTransport = {
      post(upstream: UpstreamRequest) {
        calls += 1;
        if (calls === 1) return Promise.reject(dnsFailure("api.vendor.example"));
        return real.post({
          ...upstream,
          url: upstream.url.replace("http://api.vendor.example", vendor.baseUrl.slice(0, -3)),
        });
      },
    };
    const dns = await startServer(
      `
providers:
  vendor: {type: openai, base_url: "http://api.vendor.example/v1"}
model_config: {chat: vendor}
proxy: {max_retries: 1, max_retry_wait: 1}
`,
      { transport },
    );
    try {
      const result = await sdkComplete(openAIClient(dns.url), "chat", "rid-dns");
      expect(result.text).toBe("Hello from the mock");
      const warn = linesOf(dns, "rid-dns").find((line) => line.msg === "upstream attempt failed");
      expect(warn).toMatchObject({ level: WARN, kind: "upstream_unavailable", action: "retry" });
      expect(warn?.reason).toBe("Could not reach the upstream provider api.vendor.example (ENOTFOUND).");
    } finally {
      await dns.close();
      await real.close();
    }
  });
});

/** The error undici rejects with when the vendor's name does not resolve. */
function dnsFailure(hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    errno: -3008,
    code: "ENOTFOUND",
    syscall: "getaddrinfo",
    hostname,
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
