/**
 * The KeyStore over Kysely: the same queries for the SQLite file and PostgreSQL. Every change to a key bumps the
 * one-row `key_version` in the same transaction, so a process that polls the version sees each change exactly
 * when it is committed.
 */
import type { Kysely, Selectable, Transaction } from "kysely";
import { z } from "zod";
import { keyLimitsSchema } from "../limits.ts";
import type { KeyPatch, KeyStore, NewKey, StoredKey } from "../store.ts";
import type { ApiKeysTable, GovernanceDatabase } from "./tables.ts";

const modelsSchema = z.array(z.string());

export class KyselyKeyStore implements KeyStore {
  readonly #db: Kysely<GovernanceDatabase>;

  constructor(db: Kysely<GovernanceDatabase>) {
    this.#db = db;
  }

  async create(key: NewKey): Promise<StoredKey> {
    return this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto("api_keys")
        .values({
          id: key.id,
          name: key.name,
          digest: key.digest,
          key_prefix: key.keyPrefix,
          models: toJson(key.models),
          limits: toJson(key.limits),
          created_at: key.createdAt,
          expires_at: key.expiresAt ?? null,
          revoked_at: null,
        })
        .execute();
      await bumpVersion(trx);
      return mustGet(trx, key.id);
    });
  }

  async list(): Promise<StoredKey[]> {
    const rows = await this.#db
      .selectFrom("api_keys")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(toStoredKey);
  }

  async get(id: string): Promise<StoredKey | undefined> {
    const row = await this.#db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : toStoredKey(row);
  }

  async update(id: string, patch: KeyPatch): Promise<StoredKey | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const changes: Partial<ApiKeysTable> = {};
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.models !== undefined) changes.models = toJson(patch.models ?? undefined);
      if (patch.limits !== undefined) changes.limits = toJson(patch.limits ?? undefined);
      if (patch.expiresAt !== undefined) changes.expires_at = patch.expiresAt;
      if (Object.keys(changes).length > 0) {
        const result = await trx.updateTable("api_keys").set(changes).where("id", "=", id).executeTakeFirst();
        if (result.numUpdatedRows === 0n) return undefined;
        await bumpVersion(trx);
      }
      const row = await trx.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
      return row === undefined ? undefined : toStoredKey(row);
    });
  }

  async revoke(id: string): Promise<StoredKey | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      // A second revocation keeps the first time.
      const result = await trx
        .updateTable("api_keys")
        .set({ revoked_at: new Date().toISOString() })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      if (result.numUpdatedRows > 0n) await bumpVersion(trx);
      const row = await trx.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
      return row === undefined ? undefined : toStoredKey(row);
    });
  }

  async version(): Promise<number> {
    const row = await this.#db
      .selectFrom("key_version")
      .select("version")
      .where("id", "=", 1)
      .executeTakeFirst();
    return Number(row?.version ?? 0);
  }
}

async function bumpVersion(trx: Transaction<GovernanceDatabase>): Promise<void> {
  await trx
    .updateTable("key_version")
    .set((eb) => ({ version: eb("version", "+", 1) }))
    .where("id", "=", 1)
    .execute();
}

async function mustGet(trx: Transaction<GovernanceDatabase>, id: string): Promise<StoredKey> {
  const row = await trx.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  return toStoredKey(row);
}

function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** A row as the interface says; the JSON columns are parsed through their schemas (a hand-edited row fails loudly). */
function toStoredKey(row: Selectable<ApiKeysTable>): StoredKey {
  return {
    id: row.id,
    name: row.name,
    digest: row.digest,
    keyPrefix: row.key_prefix,
    models: row.models === null ? undefined : modelsSchema.parse(JSON.parse(row.models)),
    limits: row.limits === null ? undefined : keyLimitsSchema.parse(JSON.parse(row.limits)),
    createdAt: row.created_at,
    expiresAt: row.expires_at ?? undefined,
    revoked: row.revoked_at !== null,
  };
}
