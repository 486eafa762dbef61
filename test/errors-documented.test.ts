/** Every ProxyError kind has an HTTP mapping, a Connect code and a matching README row (fastify's habit). */
import { readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PROXY_ERROR_KINDS } from "../src/core/errors.ts";
import { HTTP_ERROR_MAPPINGS } from "../src/edge/openai-errors.ts";
import { CONNECT_CODE_BY_KIND } from "../src/grpc/errors.ts";

/** Connect's Code enum name → the gRPC spelling used in the README (e.g. InvalidArgument → INVALID_ARGUMENT). */
function grpcName(code: Code): string {
  return (Code[code] ?? "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

describe("error kinds", () => {
  const readme = readFileSync("README.md", "utf8");
  const rows = new Map(
    [...readme.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*([^|]+?)\s*\|\s*`([A-Z_]+)`\s*\|/gm)].map((match) => [
      match[1],
      { http: match[2], grpc: match[3] },
    ]),
  );

  for (const kind of PROXY_ERROR_KINDS) {
    it(`${kind} is mapped on both edges and documented in the README`, () => {
      const http = HTTP_ERROR_MAPPINGS[kind];
      expect(http.status).toBeGreaterThanOrEqual(400);
      const row = rows.get(kind);
      expect(row, `README row for ${kind}`).toBeDefined();
      expect(row?.http).toContain(String(http.status));
      expect(row?.grpc).toBe(grpcName(CONNECT_CODE_BY_KIND[kind]));
    });
  }

  it("documents no kind that does not exist", () => {
    expect([...rows.keys()].sort()).toEqual([...PROXY_ERROR_KINDS].sort());
  });
});
