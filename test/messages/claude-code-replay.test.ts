/**
 * A Claude-Code-style request (./claude-code-request.ts) replayed through /v1/messages?beta=true to each upstream
 * kind. An Anthropic upstream receives Claude Code's body unchanged but for the model id (thinking signatures,
 * cache_control, unknown blocks and fields at every level) and its anthropic-beta header; an OpenAI-compatible or
 * Gemini upstream receives the documented translation (system first without the billing tag, effort as reasoning
 * effort, the tool round trip with the vendor's ids) and no thinking signature, so no vendor can refuse one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_MOCK_COUNT } from "../helpers/mock-anthropic-upstream.ts";
import {
  startVendorGateway,
  VENDOR_KEYS,
  type VendorGateway,
  vendorProviders,
} from "../helpers/vendor-gateway.ts";
import {
  BILLING_BLOCK,
  CLAUDE_CODE_BETAS,
  CLAUDE_CODE_HEADERS,
  CLAUDE_CODE_PATH,
  claudeCodeBody,
  SYSTEM_PROMPT,
  THINKING_SIGNATURE,
  TOOL_USE_ID,
} from "./claude-code-request.ts";

const KEYS = VENDOR_KEYS;
const TOKEN = "sk-claude-code-token-0123456789";

let gateway: VendorGateway;

beforeAll(async () => {
  gateway = await startVendorGateway(
    (mocks) => `
model_config: {oa-model: oa-vendor, claude-sonnet: claude-vendor, gemini-model: gemini-vendor}
model_routes:
  claude-vendor: {claude-sonnet: claude-upstream-id}
providers:
${vendorProviders(mocks)}
proxy: {max_retries: 0}
auth:
  keys:
    - {name: claude-code, key: ${TOKEN}}
`,
  );
});

afterAll(async () => {
  await gateway?.close();
});

/** Sends the body as Claude Code does (Bearer from ANTHROPIC_AUTH_TOKEN) and reads the whole SSE answer. */
async function replay(body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.server.url}${CLAUDE_CODE_PATH}`, {
    method: "POST",
    headers: { ...CLAUDE_CODE_HEADERS, authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

describe("a Claude Code request to an Anthropic upstream", () => {
  it("arrives unchanged but for the model id, with Claude Code's anthropic-beta", async () => {
    const before = gateway.anthropic.requests.length;
    const body = claudeCodeBody("claude-sonnet");
    const answer = await replay(body);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain("event: message_stop");
    const received = gateway.anthropic.requests.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]?.url).toBe("/v1/messages");
    expect(received[0]?.body).toEqual({ ...body, model: "claude-upstream-id" });
    // Same keys in the same order: only the model's value differs.
    expect(Object.keys(received[0]?.body ?? {})).toEqual(Object.keys(body));
    expect(received[0]?.headers["anthropic-beta"]).toBe(CLAUDE_CODE_BETAS);
    expect(received[0]?.headers["x-api-key"]).toBe(KEYS.ANTHROPIC_KEY);
    expect(received[0]?.headers.authorization).toBeUndefined();
  });

  it("leaves out only a thinking block no vendor signed (another vendor's thinking), which Anthropic would refuse", async () => {
    const before = gateway.anthropic.requests.length;
    const body = claudeCodeBody("claude-sonnet");
    const messages = body.messages as { role: string; content: Record<string, unknown>[] }[];
    const assistant = messages[1] as { role: string; content: Record<string, unknown>[] };
    const unsigned = { type: "thinking", thinking: "Thought at another vendor.", signature: "" };
    assistant.content = [unsigned, ...assistant.content];
    const answer = await replay(body);
    expect(answer.status).toBe(200);
    const received = gateway.anthropic.requests.slice(before)[0]?.body as { messages: typeof messages };
    expect(received.messages[1]?.content).toEqual(assistant.content.slice(1));
    expect(received.messages[1]?.content[0]).toMatchObject({
      type: "thinking",
      signature: THINKING_SIGNATURE,
    });
    expect({ ...received, messages: undefined }).toEqual({
      ...body,
      model: "claude-upstream-id",
      messages: undefined,
    });
  });

  it("passes a role system message on, and the vendor's 400 reaches the client as the vendor wrote it", async () => {
    const body = claudeCodeBody("claude-sonnet");
    body.messages = [
      { role: "user", content: "Say hello." },
      {
        role: "system",
        content: [{ type: "text", text: "# Environment", cache_control: { type: "ephemeral" } }],
      },
    ];
    const answer = await replay(body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "messages.1: roles must alternate, starting with user",
      },
    });
  });
});

describe("count_tokens from Claude Code to an Anthropic upstream", () => {
  it("forwards the body unchanged but for the model id, with anthropic-beta, and answers the vendor's count", async () => {
    const before = gateway.anthropic.requests.length;
    const body = claudeCodeBody("claude-sonnet");
    for (const key of ["max_tokens", "stream", "metadata", "context_management"]) delete body[key];
    const response = await fetch(`${gateway.server.url}/v1/messages/count_tokens?beta=true`, {
      method: "POST",
      headers: { ...CLAUDE_CODE_HEADERS, authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ input_tokens: ANTHROPIC_MOCK_COUNT });
    const received = gateway.anthropic.requests.slice(before);
    expect(received.map((request) => request.url)).toEqual(["/v1/messages/count_tokens"]);
    expect(received[0]?.body).toEqual({ ...body, model: "claude-upstream-id" });
    expect(received[0]?.headers["anthropic-beta"]).toBe(CLAUDE_CODE_BETAS);
  });
});

describe.each(["oa-model", "gemini-model"])("a Claude Code request to %s", (model) => {
  it("is translated, its signatures and cache_control left out", async () => {
    const mock = model === "oa-model" ? gateway.openai : gateway.gemini;
    const before = mock.requests.length;
    const answer = await replay(claudeCodeBody(model));
    expect(answer.status).toBe(200);
    expect(answer.text).toContain("event: message_stop");
    const sent = JSON.stringify(mock.requests.slice(before)[0]?.body);
    expect(sent).not.toContain(THINKING_SIGNATURE);
    expect(sent).not.toContain("cache_control");
    expect(sent).not.toContain(BILLING_BLOCK);
    expect(sent).not.toContain("defer_loading");
    expect(sent).toContain(SYSTEM_PROMPT);
    expect(sent).toContain("# Project");
  });
});

describe("the translation to an OpenAI-compatible upstream", () => {
  it("keeps the conversation's order, ids, effort and the system message at its place", async () => {
    const before = gateway.openai.requests.length;
    const body = claudeCodeBody("oa-model");
    const messages = body.messages as unknown[];
    body.messages = [...messages, { role: "system", content: "Mid-conversation note." }];
    const answer = await replay(body);
    expect(answer.status).toBe(200);
    const sent = gateway.openai.requests.slice(before)[0]?.body as {
      messages: { role: string; content: unknown; tool_call_id?: string; tool_calls?: { id: string }[] }[];
      reasoning_effort?: string;
      tools: unknown[];
    };
    expect(sent.messages.map((message) => message.role)).toEqual([
      "system",
      "user",
      "assistant",
      "tool",
      "system",
    ]);
    expect(sent.messages[0]?.content).toBe(SYSTEM_PROMPT);
    expect(sent.messages[2]?.tool_calls?.[0]?.id).toBe(TOOL_USE_ID);
    expect(sent.messages[3]?.tool_call_id).toBe(TOOL_USE_ID);
    expect(sent.messages[4]?.content).toBe("Mid-conversation note.");
    expect(sent.reasoning_effort).toBe("high");
    expect(sent.tools).toHaveLength(2);
  });
});
