/**
 * /docs (Swagger UI) and /redoc (Redoc) on a real port: every script, stylesheet and icon the pages load is a
 * local URL this gateway answers with 200, nothing points at a CDN or the online validator, and the bundles are
 * the installed packages' files. So the pages render on a machine with no internet access.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ECHO_CONFIG } from "../helpers/build-app.ts";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(ECHO_CONFIG);
});
afterAll(async () => {
  await server.close();
});

/** The URLs a page loads by itself: script src, link href, img src, and Redoc's spec-url. */
function loadedUrls(html: string): string[] {
  const urls: string[] = [];
  for (const match of html.matchAll(/<(script|link|img|redoc)\b[^>]*?\s(src|href|spec-url)="([^"]*)"/g)) {
    urls.push(match[3] ?? "");
  }
  return urls;
}

const isRemote = (url: string): boolean => /^(https?:)?\/\//i.test(url);

async function get(url: string): Promise<{ status: number; type: string; body: Buffer }> {
  const response = await fetch(url);
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: Buffer.from(await response.arrayBuffer()),
  };
}

/** Fetches a page and everything it loads; returns the loaded URLs with their answers. */
async function pageAndAssets(path: string) {
  const page = await get(`${server.url}${path}`);
  expect(page.status).toBe(200);
  expect(page.type).toMatch(/^text\/html/);
  const html = page.body.toString("utf8");
  const urls = loadedUrls(html);
  const assets = await Promise.all(
    urls.map(async (url) => ({
      url,
      resolved: new URL(url, `${server.url}${path}`).href,
      ...(await get(new URL(url, `${server.url}${path}`).href)),
    })),
  );
  return { html, urls, assets };
}

describe("Swagger UI at /docs", () => {
  it("loads only local scripts, styles and icons, all answered with 200", async () => {
    const { html, urls, assets } = await pageAndAssets("/docs");
    expect(html).toContain('id="swagger-ui"');
    expect(urls.filter(isRemote)).toEqual([]);
    expect(urls.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      expect(asset.status, asset.resolved).toBe(200);
      expect(asset.resolved.startsWith(`${server.url}/docs/`), asset.resolved).toBe(true);
    }
    const types = assets.map((asset) => asset.type.split(";")[0]);
    expect(types).toEqual(expect.arrayContaining(["text/css", "application/javascript", "image/png"]));
  });

  it("initialises from the gateway's own document, with the online validator off", async () => {
    const { assets } = await pageAndAssets("/docs");
    const initializer = assets.find((asset) => asset.url.endsWith("swagger-initializer.js"));
    const code = initializer?.body.toString("utf8") ?? "";
    expect(code).toContain("validatorUrl: null");
    expect(code).toContain("resolveUrl('./json')");
    expect(code).not.toMatch(/https?:\/\/(?!stackoverflow)/);
    const json = await get(`${server.url}/docs/json`);
    const openapi = await get(`${server.url}/openapi.json`);
    expect(JSON.parse(json.body.toString())).toEqual(JSON.parse(openapi.body.toString()));
  });
});

describe("Redoc at /redoc", () => {
  it("loads the installed standalone bundle and /openapi.json, nothing remote", async () => {
    const { html, urls, assets } = await pageAndAssets("/redoc");
    expect(html).not.toMatch(/https?:\/\//);
    expect(urls.filter(isRemote)).toEqual([]);
    const resolved = assets.map((asset) => asset.resolved).sort();
    expect(resolved).toEqual([`${server.url}/openapi.json`, `${server.url}/redoc/redoc.standalone.js`]);
    for (const asset of assets) expect(asset.status, asset.resolved).toBe(200);
    const bundle = assets.find((asset) => asset.url.endsWith(".js"));
    expect(bundle?.type).toMatch(/^application\/javascript/);
    const installed = readFileSync(
      createRequire(import.meta.url).resolve("redoc/bundles/redoc.standalone.js"),
    );
    expect(bundle?.body.equals(installed)).toBe(true);
  });
});
