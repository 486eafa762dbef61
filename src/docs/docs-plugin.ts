/**
 * API documentation with no network: `GET /openapi.json` (the OpenAPI 3.1 document), `GET /docs` (Swagger UI,
 * its assets served by @fastify/swagger-ui from its own package) and `GET /redoc` (Redoc's standalone bundle from
 * the installed `redoc` package). No page references a CDN, a web font or the online validator, so the docs
 * render on machines without internet access.
 *
 * Encapsulated (not fastify-plugin): @fastify/swagger's decorator and @fastify/static stay in this scope.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import fastifySwagger, { type StaticDocumentSpec } from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { buildOpenApiDocument } from "./openapi-document.ts";
import { redocPage } from "./redoc-page.ts";

/** Options of docsPlugin. */
export interface DocsPluginOptions {
  /** The gateway version shown in the document. */
  readonly version: string;
  /** Whether the gateway serves the governance routes (/admin/keys, /admin/usage): it has a store. */
  readonly governance?: boolean;
}

/** Registers /openapi.json, /docs (and its assets, /docs/json, /docs/yaml) and /redoc. */
export async function docsPlugin(app: FastifyInstance, options: DocsPluginOptions): Promise<void> {
  const document = buildOpenApiDocument(options.version, { governance: options.governance ?? false });
  const documentJson = JSON.stringify(document);

  app.get("/openapi.json", async (_request, reply) =>
    reply.type("application/json; charset=utf-8").send(documentJson),
  );

  await app.register(fastifySwagger, {
    mode: "static",
    // Its types predate OpenAPI 3.1; the document is checked against the 3.1 schema in test/docs/.
    specification: { document: document as unknown as StaticDocumentSpec["document"] },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: "/docs",
    // No badge from validator.swagger.io: the page must not reach the internet.
    validatorUrl: false,
    uiConfig: { deepLinking: true, tryItOutEnabled: true },
  });

  // Read once: the bundle is ~1 MB and immutable for the life of the process.
  const bundle = await readFile(createRequire(import.meta.url).resolve("redoc/bundles/redoc.standalone.js"));
  const page = redocPage("llm-proxy API reference");
  app.get("/redoc", async (_request, reply) => reply.type("text/html; charset=utf-8").send(page));
  app.get("/redoc/redoc.standalone.js", async (_request, reply) =>
    reply
      .type("application/javascript; charset=utf-8")
      .header("cache-control", "public, max-age=86400")
      .send(bundle),
  );
}
