/**
 * A client key in the query string (`?api_key=…`, `?key=…`, `?access_token=…`) never reaches a log line: every
 * logged URL has the values of secret-named query parameters redacted, other parameters kept. Checked through the
 * real entry (`node src/main.ts`, pino options) at debug level and in process with a given pino instance (the
 * tests' captured logger), on answered, refused, unknown and malformed requests.
 */
import { request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { redactUrlQuery } from "../../src/http/log-url.ts";
import { killGatewayProcesses, startGatewayProcess, writeTempConfig } from "../helpers/gateway-process.ts";
import { startServer } from "../helpers/start-server.ts";

const CLIENT_KEY = "client-key-in-query-0000000001";
const SECRETS = {
  api_key: "sk-query-api-key-0001",
  key: "query-plain-key-0002",
  access_token: "query-access-token-0003",
  "x-api-key": "query-x-api-key-0004",
  token: "query-token-0005",
  apiKey: "query-camel-key-0006",
} as const;
const QUERY = `${Object.entries(SECRETS)
  .map(([name, value]) => `${name}=${value}`)
  .join("&")}&model=keep-me&key=${CLIENT_KEY}`;
const CONFIG = `model_config: {echo-1: echo}\nauth: {keys: [{name: team, key: ${CLIENT_KEY}}]}\n`;

afterAll(killGatewayProcesses);

/** Requests that log their URL: answered, refused (no header key), unknown route, bad JSON. */
async function drive(url: string): Promise<void> {
  const auth = { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" };
  const chat = JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hi" }] });
  const calls = [
    request(`${url}/v1/chat/completions?${QUERY}`, { method: "POST", headers: auth, body: chat }),
    request(`${url}/v1/models?${QUERY}`),
    request(`${url}/no/such/route?${QUERY}`, { headers: auth }),
    request(`${url}/v1/chat/completions?${QUERY}`, { method: "POST", headers: auth, body: "{not json" }),
  ];
  const statuses = await Promise.all(
    calls.map(async (call) => {
      const response = await call;
      await response.body.dump();
      return response.statusCode;
    }),
  );
  expect(statuses).toEqual([200, 401, 404, 400]);
}

function expectNoSecret(text: string): void {
  for (const secret of [...Object.values(SECRETS), CLIENT_KEY]) expect(text).not.toContain(secret);
}

describe("a key in the query string", () => {
  it("is redacted from every log line of node src/main.ts", async () => {
    const gateway = await startGatewayProcess(["--config", writeTempConfig(CONFIG), "--log-level", "debug"]);
    await drive(`http://127.0.0.1:${gateway.port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const incoming = gateway.lines.filter((line) => line.includes('"incoming request"'));
    expect(incoming.length).toBeGreaterThanOrEqual(4);
    expect(incoming.join("\n")).toContain("api_key=[redacted]");
    expect(incoming.join("\n")).toContain("model=keep-me");
    expectNoSecret(gateway.stdout() + gateway.stderr());
  });

  it("is redacted when the app is given a pino instance", async () => {
    const server = await startServer(CONFIG, {}, { logLevel: "debug" });
    const logs = server.logs;
    try {
      await drive(server.url);
    } finally {
      await server.close();
    }
    const urls = logs.flatMap((line) => {
      const req = line.req as { url?: string } | undefined;
      return req?.url === undefined ? [] : [req.url];
    });
    expect(urls.length).toBeGreaterThanOrEqual(4);
    const redacted = `${Object.keys(SECRETS)
      .map((name) => `${name}=[redacted]`)
      .join("&")}&model=keep-me&key=[redacted]`;
    expect(urls).toContain(`/v1/models?${redacted}`);
    expectNoSecret(JSON.stringify(logs));
  });
});

describe("redactUrlQuery", () => {
  it("replaces the values of secret-named parameters, in any spelling, and keeps the rest as sent", () => {
    expect(redactUrlQuery("/v1/models")).toBe("/v1/models");
    expect(redactUrlQuery("/v1/models?model=a&stream=true")).toBe("/v1/models?model=a&stream=true");
    expect(
      redactUrlQuery("/x?api_key=s1&model=a&KEY=s2&x%2Dapi%2Dkey=s3&api+key=s4&token&key_env=NAME"),
    ).toBe(
      "/x?api_key=[redacted]&model=a&KEY=[redacted]&x%2Dapi%2Dkey=[redacted]&api+key=[redacted]&token=[redacted]&key_env=NAME",
    );
    expect(redactUrlQuery("/x?%E0%A4%A=1&access_token=s")).toBe("/x?%E0%A4%A=1&access_token=[redacted]");
  });
});
