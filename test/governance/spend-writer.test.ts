/**
 * The spend-log writer against an in-memory SpendLog: rows are written in batches after the interval (never on
 * the caller's stack), in order; a failing store keeps them queued and gets them on a retry; past the bound rows
 * are dropped and counted with one warning; close writes what is left; a finished call becomes a row without
 * content, and calls that reached no upstream make none.
 */
import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { SpendWriter } from "../../src/governance/spend-writer.ts";
import type { SpendLog, SpendRow } from "../../src/governance/store.ts";
import { createRequestRecord } from "../../src/telemetry/request-record.ts";

/** A SpendLog that keeps what it is given, and fails its next `failures` appends. */
class MemorySpendLog implements Pick<SpendLog, "append"> {
  readonly batches: SpendRow[][] = [];
  failures = 0;

  async append(rows: readonly SpendRow[]): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("store down");
    }
    this.batches.push([...rows]);
  }

  get rows(): SpendRow[] {
    return this.batches.flat();
  }
}

class Warnings {
  readonly lines: { fields: object; message: string }[] = [];
  warn = (fields: object, message: string): void => {
    this.lines.push({ fields, message });
  };
}

function row(n: number): SpendRow {
  return {
    time: new Date(1_700_000_000_000 + n).toISOString(),
    requestId: `req-${n}`,
    keyId: "file:a",
    keyName: "a",
    api: "chat",
    model: "m",
    provider: "p",
    upstreamModel: "u",
    status: "ok",
    inputTokens: n,
    cachedTokens: 0,
    outputTokens: 1,
    costUsd: 0.001,
    estimated: false,
    latencyMs: 1,
    ttftMs: undefined,
  };
}

function writer(spend: MemorySpendLog, warnings = new Warnings(), extra: object = {}): SpendWriter {
  return new SpendWriter({ spend, log: warnings as never, flushIntervalMs: 20, batchRows: 100, ...extra });
}

describe("spend writer", () => {
  it("writes rows after the interval, in batches, in order, never on the caller's stack", async () => {
    const spend = new MemorySpendLog();
    const spendWriter = writer(spend);
    for (let n = 0; n < 250; n++) spendWriter.add(row(n));
    expect(spend.batches).toEqual([]);
    await expect.poll(() => spend.rows.length).toBe(250);
    expect(spend.batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(spend.rows.map((written) => written.requestId)).toEqual(
      Array.from({ length: 250 }, (_, n) => `req-${n}`),
    );
  });

  it("after a full batch, the rows that came during its write wait for the interval, not a write each", async () => {
    const spend = new MemorySpendLog();
    const slow = {
      append: async (rows: readonly SpendRow[]) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await spend.append(rows);
      },
    };
    const spendWriter = new SpendWriter({
      spend: slow,
      log: new Warnings() as never,
      flushIntervalMs: 400,
      batchRows: 100,
    });
    for (let n = 0; n < 100; n++) spendWriter.add(row(n));
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let n = 100; n < 105; n++) spendWriter.add(row(n));
    await expect.poll(() => spend.batches.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(spend.batches.map((batch) => batch.length)).toEqual([100]);
    await expect.poll(() => spend.batches.length, { timeout: 2000 }).toBe(2);
    expect(spend.batches.map((batch) => batch.length)).toEqual([100, 5]);
  });

  it("keeps the rows while the store fails and writes them on a retry, warning once", async () => {
    const spend = new MemorySpendLog();
    spend.failures = 3;
    const warnings = new Warnings();
    const spendWriter = writer(spend, warnings);
    for (let n = 0; n < 5; n++) spendWriter.add(row(n));
    await expect.poll(() => spend.rows.length, { timeout: 3000 }).toBe(5);
    spendWriter.add(row(5));
    await expect.poll(() => spend.rows.length).toBe(6);
    expect(spend.rows.map((written) => written.inputTokens)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(warnings.lines).toHaveLength(1);
    expect(warnings.lines[0]?.message).toContain("retried");
    expect(spendWriter.dropped).toBe(0);
  });

  it("past its bound drops new rows, counts them, and warns at most once in 10 s", async () => {
    const spend = new MemorySpendLog();
    spend.failures = 1_000;
    const warnings = new Warnings();
    const spendWriter = writer(spend, warnings, { maxQueuedRows: 10, flushIntervalMs: 60_000 });
    for (let n = 0; n < 15; n++) spendWriter.add(row(n));
    expect(spendWriter.queued).toBe(10);
    expect(spendWriter.dropped).toBe(5);
    const drops = warnings.lines.filter((line) => line.message.includes("dropped"));
    expect(drops).toHaveLength(1);
    expect(drops[0]?.fields).toMatchObject({ dropped: 1, maxQueued: 10 });
    // A failed write puts its batch back in front of what came meanwhile, within the bound.
    await spendWriter.flush();
    expect(spendWriter.queued).toBe(10);
    spend.failures = 0;
    await spendWriter.close();
    expect(spend.rows.map((written) => written.inputTokens)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("close writes what is queued at once", async () => {
    const spend = new MemorySpendLog();
    const spendWriter = writer(spend, new Warnings(), { flushIntervalMs: 60_000 });
    spendWriter.add(row(1));
    spendWriter.add(row(2));
    await spendWriter.close();
    expect(spend.rows).toHaveLength(2);
  });

  it("turns a finished model call into its row, and skips requests that reached no upstream", async () => {
    const spend = new MemorySpendLog();
    const spendWriter = writer(spend, new Warnings(), { now: () => Date.parse("2026-01-02T03:04:05.000Z") });
    const request = {} as FastifyRequest;
    const refused = createRequestRecord("req-refused", "chat", "http", true, performance.now());
    spendWriter.completion(request, refused, "rate_limited");

    const record = createRequestRecord("req-1", "chat", "http", true, performance.now());
    Object.assign(record, {
      model: "m",
      provider: "p",
      upstreamModel: "u",
      attempts: 1,
      inputTokens: 40,
      cachedTokens: 10,
      outputTokens: 5,
      costUsd: 0.25,
      usageEstimated: true,
      firstByteAt: record.arrivedAt + 12,
    });
    spendWriter.completion(request, record, "cancelled");
    await spendWriter.close();
    expect(spend.rows).toHaveLength(1);
    expect(spend.rows[0]).toMatchObject({
      requestId: "req-1",
      keyId: undefined,
      api: "chat",
      model: "m",
      provider: "p",
      upstreamModel: "u",
      status: "cancelled",
      inputTokens: 40,
      cachedTokens: 10,
      outputTokens: 5,
      costUsd: 0.25,
      estimated: true,
      ttftMs: 12,
    });
    expect(Date.parse(spend.rows[0]?.time ?? "")).toBeLessThanOrEqual(Date.parse("2026-01-02T03:04:05.000Z"));
    expect(Date.parse(spend.rows[0]?.time ?? "")).toBeGreaterThan(Date.parse("2026-01-02T03:04:04.000Z"));
  });

  it("a call that used nothing costs 0, one with usage on an unpriced model costs null", async () => {
    const spend = new MemorySpendLog();
    const spendWriter = writer(spend);
    const failed = createRequestRecord("req-failed", "chat", "http", true, performance.now());
    failed.attempts = 2;
    const unpriced = createRequestRecord("req-unpriced", "chat", "http", true, performance.now());
    unpriced.attempts = 1;
    unpriced.inputTokens = 3;
    unpriced.outputTokens = 3;
    spendWriter.completion({} as FastifyRequest, failed, "upstream_error");
    spendWriter.completion({} as FastifyRequest, unpriced, "ok");
    await spendWriter.close();
    expect(spend.rows.map((written) => written.costUsd)).toEqual([0, null]);
  });
});
