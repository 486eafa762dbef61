/**
 * Reasoning from each vendor format becomes a `reasoning` item on /v1/responses, streamed as
 * `response.reasoning_summary_text.delta` events (read through the openai SDK): Anthropic's thinking blocks and
 * Gemini's thought parts, from vendors on loopback that answer with one thinking piece and one text piece.
 */
import type { ServerResponse } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockUpstream, startMockUpstream } from "../helpers/mock-server.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const THOUGHT = "Weigh the options.";
const ANSWER = "Take the train.";

function anthropicStream(response: ServerResponse): void {
  response.writeHead(200, { "content-type": "text/event-stream" });
  const send = (event: string, data: object): void => {
    response.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  };
  send("message_start", {
    message: {
      id: "msg_t",
      type: "message",
      role: "assistant",
      model: "claude",
      content: [],
      stop_reason: null,
      usage: { input_tokens: 5, output_tokens: 1 },
    },
  });
  send("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "", signature: "" } });
  send("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: THOUGHT } });
  send("content_block_delta", { index: 0, delta: { type: "signature_delta", signature: "c2lnbmF0dXJl" } });
  send("content_block_stop", { index: 0 });
  send("content_block_start", { index: 1, content_block: { type: "text", text: "" } });
  send("content_block_delta", { index: 1, delta: { type: "text_delta", text: ANSWER } });
  send("content_block_stop", { index: 1 });
  send("message_delta", {
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 9 },
  });
  send("message_stop", {});
  response.end();
}

function geminiStream(response: ServerResponse): void {
  response.writeHead(200, { "content-type": "text/event-stream" });
  const usageMetadata = {
    promptTokenCount: 5,
    candidatesTokenCount: 4,
    thoughtsTokenCount: 3,
    totalTokenCount: 12,
  };
  const chunk = (parts: object[], finishReason?: string): string =>
    `data: ${JSON.stringify({ candidates: [{ content: { role: "model", parts }, index: 0, ...(finishReason ? { finishReason } : {}) }], usageMetadata })}\r\n\r\n`;
  response.end(chunk([{ text: THOUGHT, thought: true }]) + chunk([{ text: ANSWER }], "STOP"));
}

let anthropic: MockUpstream;
let gemini: MockUpstream;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  [anthropic, gemini] = await Promise.all([
    startMockUpstream("/v1", (_recorded, _request, response) => anthropicStream(response)),
    startMockUpstream("/v1beta", (_recorded, _request, response) => geminiStream(response)),
  ]);
  server = await startServer(
    `
providers:
  claude: {type: anthropic, base_url: "${anthropic.baseUrl}", api_key_env: ANTHROPIC_KEY}
  gemini: {type: gemini, base_url: "${gemini.baseUrl}", api_key_env: GEMINI_KEY}
model_config: {thinker-claude: claude, thinker-gemini: gemini}
proxy: {max_retries: 0}
`,
    { keys: { ANTHROPIC_KEY: "sk-ant-think", GEMINI_KEY: "AIzaThink" } },
  );
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await Promise.all([anthropic?.close(), gemini?.close()]);
});

describe.each(["thinker-claude", "thinker-gemini"])("reasoning from %s", (model) => {
  it("is a reasoning item before the message, streamed as summary deltas", async () => {
    const stream = client.responses.stream({ model, input: "How do I get to Lyon?" });
    let summary = "";
    stream.on("response.reasoning_summary_text.delta", (event) => {
      summary += event.delta;
    });
    const final = await stream.finalResponse();
    expect(summary).toBe(THOUGHT);
    expect(final.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(final.output_text).toBe(ANSWER);

    const json = await client.responses.create({ model, input: "How do I get to Lyon?" });
    const reasoning = json.output[0];
    expect(reasoning?.type === "reasoning" && reasoning.summary[0]?.text).toBe(THOUGHT);
    expect(json.output_text).toBe(ANSWER);
  });
});
