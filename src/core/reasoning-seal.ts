/**
 * Seals reasoning state into an opaque carrier a client returns unchanged, and opens it again. AES-256-GCM
 * (authenticated: a client can neither read nor forge nor alter it), written `r1-<key id>-<base64url>` so a
 * carrier fits anywhere an identifier does (only letters, digits, `-` and `_`).
 *
 * Keys come from the config (`reasoning.keys`): the first seals, every one opens, so a new key is put first and
 * the old one kept until the carriers it sealed are no longer returned. Each secret is stretched with HKDF, so
 * any long random string will do. Without configured keys a random key is made once per process: carriers then
 * do not survive a restart, nor reach another replica (they are ignored there, as tampered ones are).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { z } from "zod";
import type { ReasoningState } from "./types.ts";

/** A configured key: its id (written in each carrier) and its secret. */
export interface ReasoningKey {
  readonly id: string;
  readonly secret: string;
}

/** Seals and opens carriers. */
export interface ReasoningSeal {
  /** The state as a carrier. */
  seal(state: ReasoningState): string;
  /** The state, or undefined when the text is no carrier, was altered, or was sealed by a key not held here. */
  open(carrier: string): ReasoningState | undefined;
  /** Whether the text has a carrier's shape (it may still fail to open). */
  looksSealed(text: string): boolean;
  /** Whether the key is the process's own random one (no key configured). */
  readonly ephemeral: boolean;
}

const VERSION = "r1";
/** Key ids are written into carriers, so they are short and made of identifier characters. */
export const REASONING_KEY_ID = /^[A-Za-z0-9]{1,16}$/;
const CARRIER = /^r1-([A-Za-z0-9]{1,16})-([A-Za-z0-9_-]+)$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT = "llm-proxy reasoning seal";

const blockSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string() }),
  z.object({ type: z.literal("redacted_thinking"), data: z.string() }),
]);

/** What an opened carrier must hold; a carrier from a future version that differs is refused, not guessed at. */
const stateSchema = z.object({
  origin: z.object({ provider: z.string(), model: z.string() }),
  blocks: z.array(blockSchema).optional(),
  textSignature: z.string().optional(),
  toolSignatures: z.record(z.string(), z.string()).optional(),
});

let processKey: ReasoningKey | undefined;

/** The random key of this process, made once (a config reload keeps it, so carriers stay valid). */
function ephemeralKey(): ReasoningKey {
  processKey ??= { id: "local", secret: randomBytes(32).toString("base64url") };
  return processKey;
}

/** A seal with these keys (the first seals); with none, the process's random key. */
export function createReasoningSeal(keys: readonly ReasoningKey[]): ReasoningSeal {
  const ephemeral = keys.length === 0;
  const ordered = ephemeral ? [ephemeralKey()] : keys;
  for (const key of ordered) {
    if (!REASONING_KEY_ID.test(key.id))
      throw new Error(`reasoning key id '${key.id}' must be 1-16 letters or digits`);
  }
  const derived = new Map(ordered.map((key) => [key.id, deriveKey(key)]));
  const sealing = ordered[0] as ReasoningKey;
  const sealingKey = derived.get(sealing.id) as Buffer;
  const header = `${VERSION}-${sealing.id}`;

  return {
    ephemeral,
    seal(state) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", sealingKey, iv);
      cipher.setAAD(Buffer.from(header));
      const body = Buffer.concat([cipher.update(JSON.stringify(state), "utf8"), cipher.final()]);
      const payload = Buffer.concat([iv, body, cipher.getAuthTag()]);
      return `${header}-${payload.toString("base64url")}`;
    },
    open(carrier) {
      const match = CARRIER.exec(carrier);
      const keyId = match?.[1];
      const key = keyId === undefined ? undefined : derived.get(keyId);
      if (match === null || keyId === undefined || key === undefined) return undefined;
      const payload = Buffer.from(match[2] as string, "base64url");
      if (payload.length < IV_BYTES + TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, payload.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(`${VERSION}-${keyId}`));
        decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(payload.subarray(IV_BYTES, payload.length - TAG_BYTES)),
          decipher.final(),
        ]);
        const parsed = stateSchema.safeParse(JSON.parse(plain.toString("utf8")));
        return parsed.success ? (parsed.data as ReasoningState) : undefined;
      } catch {
        // A failed tag check (altered, or sealed under another key with this id) or unreadable content.
        return undefined;
      }
    },
    looksSealed(text) {
      return CARRIER.test(text);
    },
  };
}

function deriveKey(key: ReasoningKey): Buffer {
  return Buffer.from(hkdfSync("sha256", key.secret, HKDF_SALT, `${VERSION}:${key.id}`, 32));
}
