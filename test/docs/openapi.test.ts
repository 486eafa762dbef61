/**
 * /openapi.json: a valid OpenAPI 3.1 document (checked with a maintained validator), covering every HTTP route of
 * the app and no Connect/gRPC route, and accurate: real responses of the running app validate against its schemas
 * with every object closed, so an undocumented field or status fails here.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/governance/sqlite-store.ts";
import type { GovernanceStore } from "../../src/governance/store.ts";
import { buildTestApp, ECHO_CONFIG } from "../helpers/build-app.ts";
import { createReplayTransport, jsonRecording, sseRecording } from "../helpers/replay-transport.ts";
import { listRoutes } from "./list-routes.ts";

type Json = Record<string, unknown>;

let app: FastifyInstance;
let document: Json;
/** The app has a store, as every started gateway does, so its /admin routes are in the document too. */
let store: GovernanceStore;

beforeAll(async () => {
  store = await openSqliteStore(":memory:");
  app = await buildTestApp(`${ECHO_CONFIG}\nserver: {body_limit: 4096}\n`, {}, { store });
  await app.ready();
  document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** Routes that serve the documentation itself, not the API. */
const isDocsRoute = (path: string): boolean => path === "/openapi.json" || /^\/(docs|redoc)(\/|$)/.test(path);
const isRpcRoute = (path: string): boolean => /^\/(llmproxy|grpc)\./.test(path);

function paths(): Record<string, Record<string, Json>> {
  return document.paths as Record<string, Record<string, Json>>;
}

/** Sets `unevaluatedProperties: false` on every object schema that lists its properties and says nothing else. */
function closeObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closeObjects);
  if (typeof value !== "object" || value === null) return value;
  const copy: Json = {};
  for (const [key, child] of Object.entries(value)) copy[key] = closeObjects(child);
  if ("properties" in copy && !("additionalProperties" in copy) && !("unevaluatedProperties" in copy)) {
    copy.unevaluatedProperties = false;
  }
  return copy;
}

/** Compiles `#/components/schemas/<name>` of the served document, closed, with Ajv's JSON Schema 2020-12. */
function schemaValidator(name: string): (data: unknown) => string[] {
  const components = (document.components as { schemas: Json }).schemas;
  const defs = JSON.parse(
    JSON.stringify(closeObjects(components)).replaceAll(
      '"#/components/schemas/',
      '"https://llm-proxy.invalid/openapi.json#/$defs/',
    ),
  );
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addFormat("date-time", (text: string) => !Number.isNaN(Date.parse(text)));
  ajv.addSchema({ $id: "https://llm-proxy.invalid/openapi.json", $defs: defs });
  const validate = ajv.compile({ $ref: `https://llm-proxy.invalid/openapi.json#/$defs/${name}` });
  return (data) =>
    validate(data)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

/** The response status must be documented for the operation, with the schema of its JSON body. */
function documentedSchema(path: string, method: string, status: number, mediaType: string): string {
  const responses = paths()[path]?.[method]?.responses as Record<string, Json> | undefined;
  let response = responses?.[String(status)];
  expect(response, `${method.toUpperCase()} ${path} does not document status ${status}`).toBeDefined();
  const ref = response?.$ref;
  if (typeof ref === "string") {
    response = (document.components as { responses: Record<string, Json> }).responses[
      ref.split("/").pop() ?? ""
    ];
  }
  const content = (response?.content ?? {}) as Record<string, { schema: { $ref: string } }>;
  const schema = content[mediaType]?.schema;
  expect(schema?.$ref, `${status} ${mediaType} has no schema`).toMatch(/^#\/components\/schemas\//);
  return schema?.$ref.split("/").pop() ?? "";
}

const user = (content: string) => [{ role: "user", content }];

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const validator = new Validator({ strict: false });
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    // Every $ref resolves and every component schema compiles as JSON Schema 2020-12.
    for (const name of Object.keys((document.components as { schemas: Json }).schemas)) {
      expect(() => schemaValidator(name), name).not.toThrow();
    }
  });

  it("describes every HTTP route of the app, and only routes the app has", async () => {
    const facade = listRoutes(app).filter(
      (route) => route.method !== "HEAD" && !isRpcRoute(route.path) && !isDocsRoute(route.path),
    );
    expect(facade.length).toBeGreaterThanOrEqual(4);
    // A trailing path parameter is served by a Fastify wildcard (a model name may contain `/`); printRoutes
    // shows `/v1/models/*` as `*` under `/v1/models`. Other parameters are Fastify's `:name`.
    const toDocumentPath = (path: string): string =>
      path.replace(/\/?\*$/, "/{model}").replace(/:([A-Za-z_]+)/g, "{$1}");
    const toFastifyPaths = (path: string): string[] => [
      path.replace(/\/\{[^}/]+\}$/, "/*"),
      path.replace(/\{([^}/]+)\}/g, ":$1"),
    ];
    for (const route of facade) {
      expect(
        paths()[toDocumentPath(route.path)]?.[route.method.toLowerCase()],
        `${route.method} ${route.path}`,
      ).toBeDefined();
    }
    for (const [path, item] of Object.entries(paths())) {
      for (const method of Object.keys(item).filter((key) => HTTP_METHODS.includes(key))) {
        const served = toFastifyPaths(path).some((url) =>
          app.hasRoute({ method: method.toUpperCase() as "GET", url }),
        );
        expect(served, `${method} ${path}`).toBe(true);
      }
    }
  });

  it("leaves the Connect, gRPC and docs routes out, and is the document Swagger UI loads", async () => {
    expect(Object.keys(paths()).filter((path) => isRpcRoute(path) || isDocsRoute(path))).toEqual([]);
    expect(listRoutes(app).some((route) => isRpcRoute(route.path))).toBe(true);
    const swaggerJson = await app.inject({ method: "GET", url: "/docs/json" });
    expect(swaggerJson.json()).toEqual(document);
  });

  it("documents Bearer auth and the error envelope on the chat route", () => {
    const components = document.components as { securitySchemes: Json };
    expect(components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const responses = paths()["/v1/chat/completions"]?.post?.responses as Json;
    for (const status of ["400", "401", "404", "413", "429", "500", "502", "503", "504"]) {
      expect(responses[status], status).toBeDefined();
    }
    const ok = (responses["200"] as { content: Json }).content;
    expect(Object.keys(ok).sort()).toEqual(["application/json", "text/event-stream"]);
  });
});

describe("the document matches real responses", () => {
  it("JSON completion", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "echo-1", messages: user("hello schema"), n: 2 },
    });
    expect(response.statusCode).toBe(200);
    const name = documentedSchema("/v1/chat/completions", "post", 200, "application/json");
    const validate = schemaValidator(name);
    expect(validate(response.json())).toEqual([]);
    // Closed objects: a field the document does not list is an error.
    expect(validate({ ...response.json<Json>(), undocumented: "x" })).not.toEqual([]);
  });

  it("embeddings, as floats and as base64, and a 400 for bad input", async () => {
    const validate = schemaValidator(documentedSchema("/v1/embeddings", "post", 200, "application/json"));
    for (const encoding_format of ["float", "base64"]) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/embeddings",
        payload: { model: "echo-1", input: ["a", "b"], encoding_format, dimensions: 4 },
      });
      expect(response.statusCode).toBe(200);
      expect(validate(response.json()), encoding_format).toEqual([]);
    }
    const request = schemaValidator("CreateEmbeddingsRequest");
    expect(
      request({ model: "m", input: [[1, 2], [3]], encoding_format: "base64", text_type: "query" }),
    ).toEqual([]);
    expect(request({ input: [] })).not.toEqual([]);
    const bad = await app.inject({ method: "POST", url: "/v1/embeddings", payload: { input: [] } });
    expect(bad.statusCode).toBe(400);
    const error = schemaValidator(documentedSchema("/v1/embeddings", "post", 400, "application/json"));
    expect(error(bad.json())).toEqual([]);
  });

  it("one model, and OpenAI's 404 for a name the gateway does not serve", async () => {
    const found = await app.inject({ method: "GET", url: "/v1/models/echo-1" });
    expect(found.statusCode).toBe(200);
    const validate = schemaValidator(documentedSchema("/v1/models/{model}", "get", 200, "application/json"));
    expect(validate(found.json())).toEqual([]);
    const missing = await app.inject({ method: "GET", url: "/v1/models/no%2Fsuch" });
    expect(missing.statusCode).toBe(404);
    const error = schemaValidator(documentedSchema("/v1/models/{model}", "get", 404, "application/json"));
    expect(error(missing.json())).toEqual([]);
  });

  it("SSE stream: every event's data, usage chunk and [DONE]", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: "echo-1",
        messages: user("a b c"),
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    const name = documentedSchema("/v1/chat/completions", "post", 200, "text/event-stream");
    const validate = schemaValidator(name);
    const events = response.body.split("\n\n").filter(Boolean);
    expect(events.length).toBeGreaterThan(4);
    for (const event of events) {
      expect(event.startsWith("data: ")).toBe(true);
      const data = event.slice("data: ".length);
      expect(validate(data === "[DONE]" ? data : JSON.parse(data)), data).toEqual([]);
    }
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(validate({ object: "chat.completion.chunk" }).length).toBeGreaterThan(0);
  });

  it("an answer with everything a vendor can say: logprobs, refusal, annotations, tier, fingerprint, usage details", async () => {
    // OpenAI's documented examples (test/fixtures/openai-compatible/fidelity.*), replayed as the vendor's answer.
    const vendorApp = await buildTestApp(
      'model_config: {fidelity: vendor}\nproviders: {vendor: {type: openai, base_url: "https://upstream.test/v1"}}\n',
      {
        transport: createReplayTransport([
          jsonRecording("openai-compatible/fidelity.json", 200),
          sseRecording("openai-compatible/fidelity.sse"),
        ]),
      },
    );
    try {
      const payload = { model: "fidelity", messages: user("hi"), n: 2, logprobs: true, top_logprobs: 2 };
      const whole = await vendorApp.inject({ method: "POST", url: "/v1/chat/completions", payload });
      expect(whole.statusCode).toBe(200);
      const completion = whole.json<Json>();
      expect(completion).toMatchObject({ service_tier: "default", system_fingerprint: "fp_fc9f1d7035" });
      expect(
        schemaValidator(documentedSchema("/v1/chat/completions", "post", 200, "application/json"))(
          completion,
        ),
      ).toEqual([]);
      const streamed = await vendorApp.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { ...payload, stream: true, stream_options: { include_usage: true } },
      });
      const validate = schemaValidator(
        documentedSchema("/v1/chat/completions", "post", 200, "text/event-stream"),
      );
      const events = streamed.body.split("\n\n").filter(Boolean);
      expect(events.length).toBeGreaterThan(20);
      for (const event of events) {
        const data = event.slice("data: ".length);
        expect(validate(data === "[DONE]" ? data : JSON.parse(data)), data).toEqual([]);
      }
      expect(streamed.body).toContain('"annotations":[{"type":"url_citation"');
      expect(streamed.body).toContain('"refusal":"I\'m"');
    } finally {
      await vendorApp.close();
    }
  });

  it("models, health and readiness", async () => {
    for (const path of ["/v1/models", "/health", "/ready"]) {
      const response = await app.inject({ method: "GET", url: path });
      expect(response.statusCode, path).toBe(200);
      const name = documentedSchema(path, "get", 200, "application/json");
      expect(schemaValidator(name)(response.json()), path).toEqual([]);
    }
  });

  it("error envelopes: 400, 404 and 413", async () => {
    const cases = [
      { payload: "{not json", status: 400 },
      { payload: JSON.stringify({ model: "echo-1", messages: [] }), status: 400 },
      { payload: JSON.stringify({ model: "nope", messages: user("hi") }), status: 404 },
      { payload: JSON.stringify({ model: "echo-1", messages: user("x".repeat(5000)) }), status: 413 },
    ];
    for (const { payload, status } of cases) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { "content-type": "application/json" },
        payload,
      });
      expect(response.statusCode).toBe(status);
      const name = documentedSchema("/v1/chat/completions", "post", status, "application/json");
      expect(schemaValidator(name)(response.json())).toEqual([]);
    }
  });

  it("the request schema accepts what the facade accepts and rejects what it rejects", () => {
    const validate = schemaValidator("CreateChatCompletionRequest");
    expect(
      validate({
        model: "echo-1",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: [{ type: "text", text: "Hi" }] },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: "c1", content: "42" },
        ],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
        stream: true,
        enable_thinking: true,
      }),
    ).toEqual([]);
    expect(validate({ model: "echo-1", messages: [] }).length).toBeGreaterThan(0);
    expect(validate({ messages: [{ role: "robot", content: "x" }] }).length).toBeGreaterThan(0);
  });
});

describe("the document matches the admin and auth responses", () => {
  const CLIENT_KEY = "client-key-0123456789";
  const ADMIN_KEY = "admin-key-0123456789";
  let secured: FastifyInstance;

  beforeAll(async () => {
    secured = await buildTestApp(
      `${ECHO_CONFIG}\nauth: {keys: [{name: team, key: ${CLIENT_KEY}}], admin_keys: [{name: ops, key: ${ADMIN_KEY}}]}\n`,
    );
  });
  afterAll(async () => {
    await secured.close();
  });

  it("GET /config and POST /config/reload (loopback, no admin keys)", async () => {
    const config = await app.inject({ method: "GET", url: "/config" });
    expect(config.statusCode).toBe(200);
    expect(
      schemaValidator(documentedSchema("/config", "get", 200, "application/json"))(config.json()),
    ).toEqual([]);
    const reload = await app.inject({ method: "POST", url: "/config/reload" });
    expect(reload.statusCode).toBe(501);
    const name = documentedSchema("/config/reload", "post", 501, "application/json");
    expect(schemaValidator(name)(reload.json())).toEqual([]);
  });

  it("401 without a key and 403 for an admin route off loopback", async () => {
    const cases = [
      { app: secured, method: "POST", url: "/v1/chat/completions", status: 401 },
      { app: secured, method: "GET", url: "/v1/models", status: 401 },
      { app: secured, method: "GET", url: "/config", status: 401 },
      { app, method: "GET", url: "/config", status: 403, remoteAddress: "192.0.2.10" },
    ] as const;
    for (const { app: target, method, url, status, ...rest } of cases) {
      const response = await target.inject({
        method,
        url,
        payload: method === "POST" ? {} : undefined,
        ...rest,
      });
      expect(response.statusCode, `${method} ${url}`).toBe(status);
      const name = documentedSchema(url, method.toLowerCase(), status, "application/json");
      expect(schemaValidator(name)(response.json())).toEqual([]);
    }
  });

  it("keys open what the document says they open", async () => {
    const withKey = await secured.inject({
      method: "GET",
      url: "/v1/models",
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    });
    expect(withKey.statusCode).toBe(200);
    const admin = await secured.inject({
      method: "GET",
      url: "/config",
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(admin.statusCode).toBe(200);
    for (const path of ["/health", "/ready", "/openapi.json", "/docs", "/redoc"]) {
      expect((await secured.inject({ method: "GET", url: path })).statusCode, path).toBe(200);
    }
    const chat = paths()["/v1/chat/completions"]?.post as Json | undefined;
    expect(chat?.security ?? document.security).toEqual([{ bearerAuth: [] }, {}]);
    expect(paths()["/config"]?.get?.security).toEqual([{ adminBearerAuth: [] }, {}]);
    expect(paths()["/health"]?.get?.security).toEqual([]);
  });
});

describe("the document matches the virtual-key and usage answers", () => {
  const ADMIN_KEY = "admin-key-0123456789";
  let governed: FastifyInstance;
  let governedStore: GovernanceStore;

  beforeAll(async () => {
    governedStore = await openSqliteStore(":memory:");
    governed = await buildTestApp(
      `${ECHO_CONFIG}\nauth: {keys: [{name: team, key: client-key-0123456789}], admin_keys: [{name: ops, key: ${ADMIN_KEY}}]}\n`,
      {},
      { store: governedStore },
    );
  });
  afterAll(async () => {
    await governed.close();
    await governedStore.close();
  });

  it("every status of /admin/keys and /admin/usage validates against its documented schema", async () => {
    await governedStore.spend.append(
      ["k", undefined].map((keyId) => ({
        time: "2026-01-01T00:00:00.000Z",
        requestId: "r",
        keyId,
        keyName: keyId,
        api: "chat",
        model: "echo-1",
        provider: "echo",
        upstreamModel: "echo-1",
        status: "ok",
        inputTokens: 1,
        cachedTokens: 0,
        outputTokens: 1,
        costUsd: null,
        estimated: false,
        latencyMs: 1,
        ttftMs: undefined,
      })),
    );
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const created = await governed.inject({
      method: "POST",
      url: "/admin/keys",
      headers,
      payload: { name: "doc", models: ["echo-*"], limits: { rpm: 5 }, expires_at: "2999-01-01" },
    });
    const id = String(created.json().id);
    const cases = [
      { documented: "/admin/keys", method: "post", response: created, status: 201 },
      ...(await Promise.all(
        [
          ["/admin/keys", "/admin/keys", "get", undefined, 200],
          ["/admin/keys", "/admin/keys", "post", { name: "" }, 400],
          ["/admin/keys/{id}", `/admin/keys/${id}`, "get", undefined, 200],
          ["/admin/keys/{id}", `/admin/keys/${id}`, "patch", { limits: null, expires_at: null }, 200],
          ["/admin/keys/{id}", "/admin/keys/file:team", "get", undefined, 200],
          ["/admin/keys/{id}", "/admin/keys/file:team", "patch", { name: "x" }, 409],
          ["/admin/keys/{id}", "/admin/keys/key_missing", "delete", undefined, 404],
          ["/admin/keys/{id}", `/admin/keys/${id}`, "delete", undefined, 200],
          ["/admin/usage", "/admin/usage?group_by=key", "get", undefined, 200],
          ["/admin/usage", "/admin/usage?group_by=model", "get", undefined, 200],
          ["/admin/usage", "/admin/usage?group_by=day", "get", undefined, 200],
          ["/admin/usage", "/admin/usage?group_by=hour", "get", undefined, 400],
        ].map(async ([documented, url, method, payload, status]) => ({
          documented: String(documented),
          method: String(method),
          status: Number(status),
          response: await governed.inject({
            method: String(method).toUpperCase() as "GET",
            url: String(url),
            headers,
            ...(payload === undefined ? {} : { payload: payload as object }),
          }),
        })),
      )),
      // Without a key, and on a gateway without admin keys (even from loopback).
      {
        documented: "/admin/keys",
        method: "get",
        status: 401,
        response: await governed.inject({ method: "GET", url: "/admin/keys" }),
      },
      {
        documented: "/admin/usage",
        method: "get",
        status: 403,
        response: await app.inject({ method: "GET", url: "/admin/usage" }),
      },
    ];
    for (const { documented, method, status, response } of cases) {
      expect(response.statusCode, `${method} ${documented}`).toBe(status);
      const name = documentedSchema(documented, method, status, "application/json");
      expect(schemaValidator(name)(response.json()), `${method} ${documented} ${status}`).toEqual([]);
    }
  });
});
