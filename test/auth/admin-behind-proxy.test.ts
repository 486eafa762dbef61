/**
 * Admin routes with no admin keys trust loopback peers; behind a reverse proxy on the same host every client is a
 * loopback peer. Through the real entry (`node src/main.ts`) and real sockets: a loopback request that names a
 * forwarded client (Forwarded, X-Forwarded-For, X-Real-IP) is refused on every admin route, a plain one is served,
 * and the start says once, at warn, that admin routes are open to loopback clients.
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayChild,
  killGatewayProcesses,
  startGatewayProcess,
  writeTempConfig,
} from "../helpers/gateway-process.ts";

const ADMIN_ROUTES = [
  { method: "GET", path: "/config" },
  { method: "POST", path: "/config/reload" },
] as const;

const PROXY_HEADERS: readonly Record<string, string>[] = [
  { "x-forwarded-for": "203.0.113.7" },
  { forwarded: "for=203.0.113.7;proto=https" },
  { "x-real-ip": "203.0.113.7" },
];

const ADMIN_KEY = "admin-key-behind-proxy-0001";
const MODELS = "model_config: {echo-1: echo}\n";

let open: GatewayChild & { readonly port: number };
let keyed: GatewayChild & { readonly port: number };

beforeAll(async () => {
  [open, keyed] = await Promise.all([
    startGatewayProcess(["--config", writeTempConfig(MODELS), "--log-level", "info"]),
    startGatewayProcess([
      "--config",
      writeTempConfig(`${MODELS}auth: {admin_keys: [{name: ops, key: ${ADMIN_KEY}}]}\n`),
      "--log-level",
      "info",
    ]),
  ]);
});
afterAll(killGatewayProcesses);

async function call(
  port: number,
  route: (typeof ADMIN_ROUTES)[number],
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(`http://127.0.0.1:${port}${route.path}`, { method: route.method, headers });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

function warnings(gateway: GatewayChild): Record<string, unknown>[] {
  return gateway.lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.level === 40 && String(line.msg).includes("auth.admin_keys"));
}

describe("admin routes without admin keys", () => {
  for (const route of ADMIN_ROUTES) {
    for (const headers of PROXY_HEADERS) {
      const name = Object.keys(headers)[0];
      it(`refuse ${route.method} ${route.path} from loopback through a proxy (${name})`, async () => {
        const refused = await call(open.port, route, headers);
        expect(refused.status).toBe(403);
        expect(refused.body).toMatchObject({
          error: { type: "permission_error", code: "admin_key_required" },
        });
      });
    }

    it(`serve ${route.method} ${route.path} to a plain loopback client`, async () => {
      expect((await call(open.port, route, {})).status).toBe(200);
    });
  }

  it("are announced once at start by a warning recommending admin keys", () => {
    const logged = warnings(open);
    expect(logged).toHaveLength(1);
    expect(logged[0]?.msg).toMatch(/any loopback client without a key.*reverse proxy.*set auth\.admin_keys/);
  });
});

describe("admin routes with admin keys", () => {
  it("take the admin key through a proxy too, and start without the warning", async () => {
    const authorization = `Bearer ${ADMIN_KEY}`;
    for (const route of ADMIN_ROUTES) {
      expect((await call(keyed.port, route, { ...PROXY_HEADERS[0], authorization })).status).toBe(200);
      expect((await call(keyed.port, route, {})).status).toBe(401);
    }
    expect(warnings(keyed)).toEqual([]);
  });
});
