/**
 * max_parallel slots are released on every ending: 1,000 streams of a `max_parallel: 5` key end in every way a
 * stream can (the client aborts before the first byte or mid-stream, the vendor fails, the first token times out,
 * a stream completes), and afterwards 5 streams still get in at once and a 6th is refused.
 */
import type { ServerResponse } from "node:http";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MockUpstream } from "../helpers/mock-server.ts";
import { startMockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const KEY = "sk-five-at-once-001";
const STREAMS = 1_000;

let vendor: MockUpstream;
let server: RunningServer;
let dispatcher: Agent;
const stalled = new Set<ServerResponse>();

beforeAll(async () => {
  // `stall` never answers (the gateway's first-token timeout ends it); `fail` answers 500 at once.
  vendor = await startMockUpstream("/v1", (recorded, _request, response) => {
    if (recorded.body.model === "fail") {
      response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: "mock failure", type: "server_error" } }));
      return;
    }
    stalled.add(response);
    response.on("close", () => stalled.delete(response));
  });
  server = await startServer(`
model_config: {slow-1: slow, stall: vendor, fail: vendor}
providers:
  slow: {type: echo, token_delay_ms: 20}
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
proxy: {max_retries: 0, first_token_timeout: 0.15, cooldown: {failures: 100000}}
auth:
  keys:
    - {name: five, key: ${KEY}, limits: {max_parallel: 5}}
`);
  dispatcher = new Agent({ connections: 16 });
});

afterAll(async () => {
  await dispatcher.close();
  for (const response of stalled) response.destroy();
  await server.close();
  await vendor.close();
});

type Ending = "abort-before-first-byte" | "abort-mid-stream" | "vendor-error" | "timeout" | "complete";

/** Which way stream `index` ends: mostly aborts, some vendor errors, a few timeouts and completions. */
function endingOf(index: number): Ending {
  if (index % 50 === 0) return "timeout";
  if (index % 50 === 1) return "complete";
  return (
    (["abort-before-first-byte", "abort-mid-stream", "vendor-error"] as const)[index % 3] ?? "vendor-error"
  );
}

const MODEL_OF: Record<Ending, string> = {
  "abort-before-first-byte": "stall",
  "abort-mid-stream": "slow-1",
  "vendor-error": "fail",
  timeout: "stall",
  complete: "slow-1",
};

/** A streamed chat request of the key, on the shared dispatcher; `signal` aborts it. */
function streamRequest(model: string, content: string, signal: AbortSignal) {
  return request(`${server.url}/v1/chat/completions`, {
    method: "POST",
    dispatcher,
    signal,
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content }] }),
  });
}

/** Opens one stream and ends it as `ending` says; returns the status the gateway answered (0: aborted before). */
async function runStream(ending: Ending): Promise<number> {
  const controller = new AbortController();
  const words = ending === "complete" ? "a b c" : Array.from({ length: 50 }, (_, i) => `w${i}`).join(" ");
  if (ending === "abort-before-first-byte") setTimeout(() => controller.abort(), 5 + Math.random() * 20);
  try {
    const response = await streamRequest(MODEL_OF[ending], words, controller.signal);
    if (ending === "abort-mid-stream" && response.statusCode === 200) {
      for await (const _chunk of response.body) break;
      controller.abort();
      return response.statusCode;
    }
    await response.body.text();
    return response.statusCode;
  } catch (error) {
    if (controller.signal.aborted) return 0;
    throw error;
  }
}

/** Opens `count` slow streams at once; returns their statuses and a function that aborts them all. */
async function openTogether(count: number): Promise<{ statuses: number[]; close: () => void }> {
  const controllers = Array.from({ length: count }, () => new AbortController());
  const statuses = await Promise.all(
    controllers.map(async (controller) => {
      const words = Array.from({ length: 200 }, () => "word").join(" ");
      const response = await streamRequest("slow-1", words, controller.signal);
      response.body.on("error", () => {});
      if (response.statusCode !== 200) await response.body.text();
      return response.statusCode;
    }),
  );
  return {
    statuses,
    close: () => {
      for (const controller of controllers) controller.abort();
    },
  };
}

describe("max_parallel: 5 after 1,000 streams ended every way", () => {
  it("still admits 5 streams at once and refuses a 6th", { timeout: 30_000 }, async () => {
    const statuses = new Map<string, number>();
    let next = 0;
    // Four clients at a time: under the limit, so almost every stream is admitted and really runs.
    const client = async (): Promise<void> => {
      while (next < STREAMS) {
        const ending = endingOf(next++);
        const status = await runStream(ending);
        const label = `${ending}:${status}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 4 }, client));
    const count = (label: string) => statuses.get(label) ?? 0;
    const total = [...statuses.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBe(STREAMS);
    // Every kind of ending really happened.
    expect(count("abort-before-first-byte:0")).toBeGreaterThan(100);
    expect(count("abort-mid-stream:200")).toBeGreaterThan(100);
    expect(count("vendor-error:502") + count("vendor-error:500")).toBeGreaterThan(100);
    expect(count("timeout:504")).toBeGreaterThan(5);
    expect(count("complete:200")).toBeGreaterThan(5);
    const refused = [...statuses].filter(([label]) => label.endsWith(":429"));
    expect(
      refused.reduce((sum, [, n]) => sum + n, 0),
      JSON.stringify([...statuses]),
    ).toBeLessThan(STREAMS / 10);

    // The last endings may settle a moment after the client saw them: wait for 5 free slots, then check the 6th.
    let together = await openTogether(5);
    const deadline = Date.now() + 5_000;
    while (together.statuses.some((status) => status !== 200) && Date.now() < deadline) {
      together.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      together = await openTogether(5);
    }
    expect(together.statuses).toEqual([200, 200, 200, 200, 200]);
    const sixth = await openTogether(1);
    expect(sixth.statuses).toEqual([429]);
    together.close();
  });
});
