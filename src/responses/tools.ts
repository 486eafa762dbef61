/**
 * Responses tools → canonical functions, and the way back. `function` tools map one to one; a `namespace` tool's
 * functions become upstream functions named `{namespace}__{name}` (shortened with a hash when that is not a name
 * every vendor takes); `custom` (freeform) tools become functions with one string parameter `input`. Hosted
 * tools (web_search, file_search, …) need OpenAI's own servers: they are dropped and named, unless tool_choice
 * forces one, which is refused. The plan remembers each upstream name's client tool so the answer's calls and
 * the history's resent calls map back and forth.
 */
import { createHash } from "node:crypto";
import { ProxyError } from "../core/errors.ts";
import type { JsonObject, ToolChoice, ToolDefinition } from "../core/types.ts";
import {
  customToolSchema,
  functionToolSchema,
  namespaceToolSchema,
  type ToolChoiceBody,
} from "./request-schema.ts";

/** A tool as the client named it. */
export interface ClientTool {
  readonly name: string;
  readonly namespace?: string;
  /** A freeform tool: its calls are `custom_tool_call` items whose `input` is the string argument. */
  readonly custom: boolean;
}

/** The request's tools, as the upstream gets them and as the client knows them. */
export interface ToolPlan {
  readonly tools: ToolDefinition[] | undefined;
  /** The hosted tool types dropped, in request order, once each. */
  readonly dropped: readonly string[];
  /** Upstream function name → the client's tool. */
  readonly byUpstreamName: ReadonlyMap<string, ClientTool>;
}

/** Names every vendor accepts (OpenAI, Anthropic and Gemini agree on this much). */
const VENDOR_SAFE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const CUSTOM_PARAMETERS: JsonObject = {
  type: "object",
  properties: { input: { type: "string", description: "The tool's freeform input." } },
  required: ["input"],
  additionalProperties: false,
};

/** The upstream name of a namespace's function: `{namespace}__{name}`, or a stable shortened form. */
export function upstreamToolName(name: string, namespace: string | undefined): string {
  if (namespace === undefined) return name;
  const joined = `${namespace}__${name}`;
  if (VENDOR_SAFE_NAME.test(joined)) return joined;
  const hash = createHash("sha256").update(joined).digest("hex").slice(0, 8);
  return `${joined.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 55)}_${hash}`;
}

/** Maps the request's tools; throws a 400 naming the first tool that is not well formed. */
export function planTools(tools: readonly { readonly type: string }[] | null | undefined): ToolPlan {
  const byUpstreamName = new Map<string, ClientTool>();
  const dropped: string[] = [];
  if (tools === undefined || tools === null) return { tools: undefined, dropped, byUpstreamName };
  const definitions: ToolDefinition[] = [];
  const add = (tool: { readonly type: string }, param: string, namespace?: string): void => {
    if (tool.type === "function") {
      const fn = parseTool(functionToolSchema, tool, param);
      const name = upstreamToolName(fn.name, namespace);
      byUpstreamName.set(name, { name: fn.name, namespace, custom: false });
      definitions.push({
        name,
        description: fn.description ?? undefined,
        parameters: (fn.parameters ?? undefined) as JsonObject | undefined,
        strict: fn.strict ?? undefined,
      });
    } else if (tool.type === "custom") {
      const fn = parseTool(customToolSchema, tool, param);
      const name = upstreamToolName(fn.name, namespace);
      byUpstreamName.set(name, { name: fn.name, namespace, custom: true });
      definitions.push({ name, description: fn.description ?? undefined, parameters: CUSTOM_PARAMETERS });
    } else if (tool.type === "namespace" && namespace === undefined) {
      const group = parseTool(namespaceToolSchema, tool, param);
      group.tools.forEach((inner, index) => {
        add(inner, `${param}.tools[${index}]`, group.name);
      });
    } else if (!dropped.includes(tool.type)) {
      dropped.push(tool.type);
    }
  };
  tools.forEach((tool, index) => {
    add(tool, `tools[${index}]`);
  });
  return { tools: definitions.length === 0 ? undefined : definitions, dropped, byUpstreamName };
}

function parseTool<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
  tool: unknown,
  param: string,
): T {
  const parsed = schema.safeParse(tool);
  if (parsed.success) return parsed.data;
  throw new ProxyError(
    "invalid_request",
    `Invalid tool at '${param}': it needs a name (and a JSON object as parameters).`,
    {
      param,
    },
  );
}

/** Maps tool_choice; a forced hosted tool (or one the request does not offer) is refused. */
export function toCanonicalToolChoice(
  choice: ToolChoiceBody | null | undefined,
  plan: ToolPlan,
): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === "string") return { type: choice };
  if (choice.type === "allowed_tools") {
    const mode = (choice as { mode?: unknown }).mode;
    return mode === "required" ? { type: "required" } : { type: "auto" };
  }
  if ((choice.type === "function" || choice.type === "custom") && choice.name !== undefined) {
    const namespace = (choice as { namespace?: unknown }).namespace;
    const name = upstreamToolName(choice.name, typeof namespace === "string" ? namespace : undefined);
    if (plan.byUpstreamName.has(name)) return { type: "function", name };
    for (const [upstream, tool] of plan.byUpstreamName) {
      if (tool.name === choice.name) return { type: "function", name: upstream };
    }
    throw new ProxyError("invalid_request", `tool_choice names '${choice.name}', which is not in tools.`, {
      param: "tool_choice",
    });
  }
  throw new ProxyError(
    "invalid_request",
    `tool_choice forces the hosted tool '${choice.type}', which this gateway cannot run: only function, custom and namespace tools are served.`,
    { param: "tool_choice", code: "unsupported_tool" },
  );
}

/** What a call to `upstreamName` is, for the client (a name the request did not offer is passed as is). */
export function clientToolOf(plan: ToolPlan, upstreamName: string): ClientTool {
  return plan.byUpstreamName.get(upstreamName) ?? { name: upstreamName, custom: false };
}
