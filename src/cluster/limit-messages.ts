/**
 * The messages of per-key limits over the cluster IPC channel (`server.workers > 1`): the counters live in the
 * primary, workers ask it to admit and tell it what each admitted request used. Each admit carries an id that its
 * answer echoes, so a worker matches answers to requests. Checked with zod on arrival, both ways; a message that
 * is not one of these is left to the other listeners.
 */
import { z } from "zod";
import { keyLimitsSchema } from "../governance/limits.ts";

const keySchema = z.object({ id: z.string().min(1).max(256), limits: keyLimitsSchema });
const epochMs = z.number().finite();

/** Worker → primary: check and count one request. */
export const limitAdmitSchema = z.object({
  type: z.literal("llm-proxy:limit-admit"),
  id: z.number().int().nonnegative(),
  key: keySchema,
  nowMs: epochMs,
  /** The key's spend earlier in the current budget period, from this worker's spend log; sent on first use. */
  seedUsd: z.number().finite().nonnegative().optional(),
});

/** Worker → primary: an admitted request ended. */
export const limitSettleSchema = z.object({
  type: z.literal("llm-proxy:limit-settle"),
  key: keySchema,
  ticket: z.string().min(1).max(64),
  tokens: z.number().finite().nonnegative(),
  costUsd: z.number().finite().nonnegative(),
  nowMs: epochMs,
});

const windowSchema = z.object({
  limit: z.number(),
  remaining: z.number(),
  resetSeconds: z.number(),
});
const stateSchema = z.object({ requests: windowSchema.optional(), tokens: windowSchema.optional() });

/** Primary → worker: the answer to one admit. */
export const limitAdmittedSchema = z.object({
  type: z.literal("llm-proxy:limit-admitted"),
  id: z.number().int().nonnegative(),
  admission: z.discriminatedUnion("admitted", [
    z.object({ admitted: z.literal(true), ticket: z.string(), state: stateSchema }),
    z.object({
      admitted: z.literal(false),
      code: z.enum(["rate_limit_exceeded", "budget_exceeded"]),
      limit: z.enum(["rpm", "tpm", "max_parallel", "budget_usd"]),
      // JSON has no undefined: a `total` budget's refusal carries null.
      retryAfterSeconds: z.number().nullable(),
      state: stateSchema,
    }),
  ]),
});

export type LimitAdmitMessage = z.infer<typeof limitAdmitSchema>;
export type LimitSettleMessage = z.infer<typeof limitSettleSchema>;
export type LimitAdmittedMessage = z.infer<typeof limitAdmittedSchema>;

/** A worker's limit message, or undefined for anything else (checked only when its type says it is one). */
export function asLimitWorkerMessage(message: unknown): LimitAdmitMessage | LimitSettleMessage | undefined {
  const type = typeOf(message);
  if (type === "llm-proxy:limit-admit") return limitAdmitSchema.safeParse(message).data;
  if (type === "llm-proxy:limit-settle") return limitSettleSchema.safeParse(message).data;
  return undefined;
}

/** The primary's answer to an admit, or undefined for anything else. */
export function asLimitAdmitted(message: unknown): LimitAdmittedMessage | undefined {
  return typeOf(message) === "llm-proxy:limit-admitted"
    ? limitAdmittedSchema.safeParse(message).data
    : undefined;
}

function typeOf(message: unknown): unknown {
  return typeof message === "object" && message !== null && "type" in message ? message.type : undefined;
}
