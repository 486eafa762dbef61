/**
 * A budget survives a restart: a gateway on a SQLite store spends a key's daily budget, closes (its spend log
 * written), and a new gateway on the same file refuses the key at its first request, its counters seeded from the
 * spend log.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import { startServer } from "../helpers/start-server.ts";

const KEY = "sk-budget-restart-01";
const CONFIG = `
model_config: {priced-1: echo}
prices: {priced-1: {input: 1, output: 1}}
auth:
  keys:
    - {name: budgeted, key: ${KEY}, limits: {budget_usd: 0.00002, budget_period: total}}
`;
const folder = mkdtempSync(join(tmpdir(), "llm-proxy-budget-"));

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Starts a gateway on the store file, runs `use` with a client of the budgeted key, then closes both. */
async function withGateway(use: (client: OpenAI) => Promise<void>): Promise<void> {
  const store = await openSqliteStore(join(folder, "gateway.db"));
  const server = await startServer(CONFIG, {}, { store });
  try {
    await use(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 }));
  } finally {
    await server.close();
    await store.close();
  }
}

const ask = (client: OpenAI) =>
  client.chat.completions.create({
    model: "priced-1",
    messages: [{ role: "user", content: "one two three four five six" }],
  });

describe("a budget after a restart", () => {
  it("is refused by the new process once the old one spent it", async () => {
    await withGateway(async (client) => {
      // 12 tokens at 1 USD per million each: 0.000012 USD, under the 0.00002 budget; the second reaches it.
      await ask(client);
      await ask(client);
    });
    await withGateway(async (client) => {
      const refused = await ask(client).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect((refused as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
        code: "budget_exceeded",
      });
    });
  });
});
