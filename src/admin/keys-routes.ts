/**
 * Virtual keys over HTTP: `POST /admin/keys`, `GET /admin/keys`, `GET`/`PATCH`/`DELETE /admin/keys/{id}`. Always
 * behind an admin key (src/auth/auth-hook.ts). The secret is made here, shown in the 201 answer once, and stored
 * only as its SHA-256; no other answer carries a secret or a digest. Keys from the config file are listed too
 * (`source: "file"`, id `file:<name>`) and cannot be changed here: the file is their source of truth.
 * After every write the worker's key cache is refreshed before the answer, so the change holds from this worker's
 * next request; other workers see it within their poll (src/governance/key-cache.ts).
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import type { ConfigFile } from "../config/schema.ts";
import { digestOfSecret, type KeyCache } from "../governance/key-cache.ts";
import { type KeyLimits, keyLimitsSchema } from "../governance/limits.ts";
import type { GovernanceStore, StoredKey } from "../governance/store.ts";
import type { RuntimeOf } from "../http/request-runtime.ts";
import { sendAdminError, sendInvalid } from "./admin-answers.ts";

/** The secret's recognisable start; the rest is 32 random bytes in base64url (43 characters). */
export const SECRET_PREFIX = "sk-llmp-";
/** Characters of the secret kept to recognise it in lists (`sk-llmp-` and four more). */
const KEY_PREFIX_LENGTH = SECRET_PREFIX.length + 4;
const FILE_ID_PREFIX = "file:";
/** Bounds that keep one key's row and each request's allow-list check small. */
const MAX_NAME_LENGTH = 128;
const MAX_MODELS = 256;
const MAX_MODEL_LENGTH = 256;

const nameField = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_NAME_LENGTH)
  .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");
const modelsField = z.array(z.string().min(1).max(MAX_MODEL_LENGTH)).min(1).max(MAX_MODELS);
/** A date-time with its offset (`Z` or `+02:00`), or a bare date (its start, UTC); must lie ahead. */
const expiresField = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: "must be an ISO 8601 date-time with an offset (2027-01-31T00:00:00Z) or a date (2027-01-31)",
  })
  .transform((text) => new Date(text.length === 10 ? `${text}T00:00:00Z` : text).toISOString())
  .refine((iso) => Date.parse(iso) > Date.now(), "must be in the future");

const createBody = z.strictObject({
  name: nameField,
  models: modelsField.optional(),
  limits: keyLimitsSchema.optional(),
  expires_at: expiresField.optional(),
});

const patchBody = z.strictObject({
  name: nameField.optional(),
  models: modelsField.nullable().optional(),
  limits: keyLimitsSchema.nullable().optional(),
  expires_at: expiresField.nullable().optional(),
});

const idParams = z.strictObject({ id: z.string().min(1).max(200) });

/** Options of keysRoutes. */
export interface KeysRoutesOptions {
  readonly store: GovernanceStore;
  readonly keyCache: KeyCache;
  /** The config of the request's runtime: its file keys are listed. */
  readonly runtimeOf: RuntimeOf;
}

/** A key as the admin API shows it: never its secret or digest. */
interface KeyView {
  readonly id: string;
  readonly name: string;
  readonly source: "api" | "file";
  readonly key_prefix: string | null;
  readonly models: readonly string[] | null;
  readonly limits: KeyLimits | null;
  readonly created_at: string | null;
  readonly expires_at: string | null;
  readonly revoked: boolean;
}

export async function keysRoutes(app: FastifyInstance, options: KeysRoutesOptions): Promise<void> {
  const { store, keyCache } = options;
  app.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "no-store");
  });
  const fileKeysOf = (request: Parameters<RuntimeOf>[0]) => options.runtimeOf(request).config.file.auth.keys;

  app.post("/admin/keys", async (request, reply) => {
    const parsed = createBody.safeParse(request.body);
    if (!parsed.success) return sendInvalid(reply, parsed.error, "key");
    const body = parsed.data;
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
    const key = await store.keys.create({
      id: `key_${randomBytes(12).toString("base64url")}`,
      name: body.name,
      digest: digestOfSecret(secret),
      keyPrefix: secret.slice(0, KEY_PREFIX_LENGTH),
      models: body.models,
      limits: body.limits,
      createdAt: new Date().toISOString(),
      expiresAt: body.expires_at,
    });
    await keyCache.refresh();
    request.log.info({ keyId: key.id, keyName: key.name }, "virtual key created");
    return reply.status(201).send({ ...storedView(key), key: secret });
  });

  app.get("/admin/keys", async (request) => {
    const fileKeys = fileKeysOf(request).map(fileView);
    const storeKeys = (await store.keys.list()).map(storedView);
    return { data: [...fileKeys, ...storeKeys] };
  });

  app.get("/admin/keys/:id", async (request, reply) => {
    const id = parseId(request.params, reply);
    if (id === undefined) return reply;
    if (id.startsWith(FILE_ID_PREFIX)) {
      const entry = fileKeysOf(request).find((block) => `${FILE_ID_PREFIX}${block.name}` === id);
      return entry === undefined ? notFound(reply, id) : fileView(entry);
    }
    const key = await store.keys.get(id);
    return key === undefined ? notFound(reply, id) : storedView(key);
  });

  app.patch("/admin/keys/:id", async (request, reply) => {
    const id = parseId(request.params, reply);
    if (id === undefined) return reply;
    if (id.startsWith(FILE_ID_PREFIX)) return fileKeyConflict(reply, id);
    const parsed = patchBody.safeParse(request.body);
    if (!parsed.success) return sendInvalid(reply, parsed.error, "key change");
    const body = parsed.data;
    const key = await store.keys.update(id, {
      name: body.name,
      models: body.models,
      limits: body.limits,
      expiresAt: body.expires_at,
    });
    if (key === undefined) return notFound(reply, id);
    await keyCache.refresh();
    request.log.info({ keyId: key.id, fields: Object.keys(body) }, "virtual key changed");
    return storedView(key);
  });

  app.delete("/admin/keys/:id", async (request, reply) => {
    const id = parseId(request.params, reply);
    if (id === undefined) return reply;
    if (id.startsWith(FILE_ID_PREFIX)) return fileKeyConflict(reply, id);
    const key = await store.keys.revoke(id);
    if (key === undefined) return notFound(reply, id);
    await keyCache.refresh();
    request.log.info({ keyId: key.id }, "virtual key revoked");
    return storedView(key);
  });
}

function parseId(params: unknown, reply: FastifyReply): string | undefined {
  const parsed = idParams.safeParse(params);
  if (parsed.success) return parsed.data.id;
  sendInvalid(reply, parsed.error, "key id");
  return undefined;
}

function notFound(reply: FastifyReply, id: string): FastifyReply {
  return sendAdminError(reply, 404, `No key with id '${id}'.`, "key_not_found", "id");
}

function fileKeyConflict(reply: FastifyReply, id: string): FastifyReply {
  return sendAdminError(
    reply,
    409,
    `'${id}' is a key from the config file (auth.keys): change or remove it there and reload; the admin API changes only the keys it created.`,
    "file_key_readonly",
    "id",
  );
}

function storedView(key: StoredKey): KeyView {
  return {
    id: key.id,
    name: key.name,
    source: "api",
    key_prefix: key.keyPrefix,
    models: key.models ?? null,
    limits: key.limits ?? null,
    created_at: key.createdAt,
    expires_at: key.expiresAt ?? null,
    revoked: key.revoked,
  };
}

function fileView(block: ConfigFile["auth"]["keys"][number]): KeyView {
  return {
    id: `${FILE_ID_PREFIX}${block.name}`,
    name: block.name,
    source: "file",
    key_prefix: null,
    models: block.models ?? null,
    limits: block.limits ?? null,
    created_at: null,
    expires_at: null,
    revoked: false,
  };
}
