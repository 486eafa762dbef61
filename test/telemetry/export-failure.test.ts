/**
 * A collector that is down costs the requests nothing: through the real entry, with the official exporter pointed
 * at a loopback port nobody listens on, a chat is answered as usual, the failed exports are logged at `warn` (the
 * SDK's diagnostics go through the app's logger), and the process still stops cleanly.
 */
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGateway } from "./gateway-process.ts";

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

let gateway: GatewayProcess | undefined;
afterAll(() => gateway?.kill());

describe("tracing to a collector that is down", () => {
  it("answers the request, logs the failed export at warn, and stops with code 0", async () => {
    gateway = await startGateway(
      [
        "model_config: {echo-1: echo}",
        "server: {watch_config: false, log_level: info}",
        `telemetry: {endpoint: "http://127.0.0.1:${await closedPort()}"}`,
      ].join("\n"),
      { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "300" },
    );
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "rid-collector-down" },
      body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "still here" }] }),
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain("still here");

    const deadline = Date.now() + 5000;
    const exportWarnings = () =>
      (gateway?.logs ?? []).filter(
        (line) => line.level === 40 && String(line.msg).startsWith("opentelemetry:"),
      );
    while (exportWarnings().length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(exportWarnings().length).toBeGreaterThan(0);
    expect(JSON.stringify(exportWarnings())).toMatch(/ECONNREFUSED|export|connect/i);

    const { code, modules } = await gateway.stop();
    expect(code).toBe(0);
    expect(modules).toContain("@opentelemetry/exporter-trace-otlp-http");
  });
});
