/**
 * The bounds of a chat request, the same on every edge: the OpenAI routes' schema (src/openai/request-schema.ts) and
 * the gRPC converter (src/grpc/convert.ts) both read them from here, so a request one edge accepts the other accepts
 * too. Ranges follow OpenAI's API; the size caps keep a single request from holding unbounded lists or names (the
 * body itself is capped by server.body_limit).
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */

/** An inclusive range. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Characters of a model name, and of the `user` field. */
export const MAX_NAME_CHARS = 256;
/** Characters of a tool (function) name offered in `tools`. */
export const MAX_TOOL_NAME_CHARS = 128;
/** Tools offered in one request. */
export const MAX_TOOLS = 128;
/** Stop sequences in one request. */
export const MAX_STOP_SEQUENCES = 4;
/** Messages in one request: at least this many. */
export const MIN_MESSAGES = 1;
/** `n`: choices asked for. */
export const CHOICES: Range = { min: 1, max: 128 };
/** `max_tokens` and `max_completion_tokens`. */
export const TOKEN_COUNT: Range = { min: 1, max: 10_000_000 };
export const TEMPERATURE: Range = { min: 0, max: 2 };
export const TOP_P: Range = { min: 0, max: 1 };
/** `presence_penalty` and `frequency_penalty`. */
export const PENALTY: Range = { min: -2, max: 2 };
