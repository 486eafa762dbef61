/**
 * A Claude-Code-style Messages request, modelled on what Claude Code 2.1 sends in print mode (`claude -p`): the
 * `?beta=true` path, seven `anthropic-beta` values, a billing tag as the first system block, `cache_control` on
 * system and message blocks, adaptive thinking with `output_config.effort`, `context_management`, a deferred tool
 * (`defer_loading`), and a second turn carrying a signed thinking block, a tool call and its result. Unknown
 * fields at every level (top, message, block) check that nothing is lost on the way to an Anthropic upstream.
 */

export const CLAUDE_CODE_PATH = "/v1/messages?beta=true";

export const CLAUDE_CODE_BETAS =
  "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24";

/** Headers Claude Code sends besides its key. */
export const CLAUDE_CODE_HEADERS: Readonly<Record<string, string>> = {
  "anthropic-beta": CLAUDE_CODE_BETAS,
  "anthropic-version": "2023-06-01",
  "anthropic-dangerous-direct-browser-access": "true",
  "content-type": "application/json",
  "user-agent": "claude-cli/2.1.332 (external, sdk-cli)",
  "x-app": "cli",
};

export const BILLING_BLOCK = "x-anthropic-billing-header: cc_version=2.1.332.ae2; cc_entrypoint=sdk-cli;";
export const SYSTEM_PROMPT = "You are a Claude agent, built on Anthropic's Claude Agent SDK.";
export const THINKING_SIGNATURE = "EqQBCkgIBRABGAIiQL0signature-issued-by-anthropic==";
export const TOOL_USE_ID = "toolu_01ClaudeCodeRead0001";

/** The body of a second turn (a tool round trip in its history); `model` is the gateway's public name. */
export function claudeCodeBody(model: string): Record<string, unknown> {
  return {
    model,
    messages: [
      {
        role: "user",
        content: [
          {
            type: "text",
            text: "<system-reminder>\nYou are powered by the model mock-text.\n</system-reminder>",
          },
          { type: "text", text: "Read the README.", cache_control: { type: "ephemeral" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "I should read the file.", signature: THINKING_SIGNATURE },
          { type: "text", text: "Reading it." },
          {
            type: "tool_use",
            id: TOOL_USE_ID,
            name: "Read",
            input: { file_path: "/tmp/README.md" },
            caller: { type: "direct" },
          },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: TOOL_USE_ID,
            content: [{ type: "text", text: "# Project\nHello." }],
            cache_control: { type: "ephemeral" },
          },
          { type: "future_block_2027", payload: { kept: true } },
        ],
        future_message_field: "kept",
      },
    ],
    system: [
      { type: "text", text: BILLING_BLOCK },
      { type: "text", text: SYSTEM_PROMPT, cache_control: { type: "ephemeral" } },
    ],
    tools: [
      {
        name: "Read",
        description: "Reads a file from the local filesystem.",
        input_schema: {
          $schema: "https://json-schema.org/draft/2020-12/schema",
          type: "object",
          properties: { file_path: { type: "string" } },
          required: ["file_path"],
          additionalProperties: false,
        },
      },
      {
        name: "DeferredToolPlaceholder",
        description: "A tool loaded on demand.",
        input_schema: { type: "object", properties: {} },
        defer_loading: true,
      },
    ],
    metadata: { user_id: '{"device_id":"d1","account_uuid":"","session_id":"s1"}' },
    max_tokens: 32000,
    thinking: { type: "adaptive", display: "omitted" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    output_config: { effort: "high" },
    stream: true,
  };
}
