import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import {
  REDACTED,
  rememberSecrets,
  SecretScrubber,
  scrubErrorForLog,
  scrubSecrets,
  scrubSecretsDeep,
  scrubUpstreamText,
} from "../../src/core/secret-scrubber.ts";
import { toHttpError } from "../../src/edge/openai-errors.ts";
import { toConnectError } from "../../src/grpc/errors.ts";

/** A key with characters that URL encoding changes, as Qianfan's and base64-style keys have. */
const KEY = "sk-proj-Q7vX2mLp9RtZ/k4Hw+Bn8Jc=Yd3F";
const scrubber = new SecretScrubber([KEY]);
const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => Buffer.from(text).toString("base64url");

describe("SecretScrubber", () => {
  it("cuts a key verbatim, wherever and however often it appears", () => {
    expect(scrubber.scrub(`Bearer ${KEY} and again:${KEY}.`)).toBe(
      `Bearer ${REDACTED} and again:${REDACTED}.`,
    );
  });

  it.each([
    ["encodeURIComponent", encodeURIComponent(KEY)],
    ["lower-case hex", encodeURIComponent(KEY).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())],
    ["every character encoded", [...KEY].map((char) => `%${char.charCodeAt(0).toString(16)}`).join("")],
  ])("cuts it percent-encoded (%s)", (_name, encoded) => {
    const out = scrubber.scrub(`GET /v1/models?key=${encoded}&alt=sse`);
    expect(out).toBe(`GET /v1/models?key=${REDACTED}&alt=sse`);
  });

  it.each([
    ["the key", b64(KEY)],
    ["Bearer + key (offset 1)", b64(`Bearer ${KEY}`)],
    ["user:key (offset 2)", b64(`user:${KEY}`)],
    ["x:key (offset 0 after a prefix)", b64(`abc${KEY}`)],
    ["base64url", b64url(`Bearer ${KEY}`)],
    ["base64url at offset 2", b64url(`ab${KEY}xyz`)],
  ])("cuts it base64-encoded: %s", (_name, encoded) => {
    const out = scrubber.scrub(`authorization echoed as ${encoded} here`);
    expect(out).toContain(REDACTED);
    // The key's encoding at any of the three byte offsets, less a few characters at each end, is gone.
    for (const offset of [0, 1, 2]) {
      const bytes = Buffer.concat([Buffer.alloc(offset), Buffer.from(KEY)]);
      expect(out).not.toContain(bytes.toString("base64").slice(4, -4));
      expect(out).not.toContain(bytes.toString("base64url").slice(4, -4));
    }
  });

  it.each([
    [`Incorrect API key provided: ${KEY.slice(0, 8)}****${KEY.slice(-4)}.`, "****"],
    [`Incorrect API key provided: ${KEY.slice(0, 6)}***...${KEY.slice(-4)}`, "***..."],
    [`key ${KEY.slice(0, 6)}…${KEY.slice(-4)} is disabled`, "…"],
    [`key "${KEY.slice(0, 15)}" (truncated)`, ""],
    [`ends in ${KEY.slice(-6)}`, ""],
  ])("cuts the masked forms vendors echo: %s", (text, mask) => {
    const out = scrubber.scrub(text);
    expect(out).not.toContain(KEY.slice(-4));
    expect(out).not.toContain(KEY.slice(0, 6));
    if (mask !== "") expect(out).toContain(`${REDACTED}${mask}${REDACTED}`);
  });

  it("cuts a long fragment even inside a word, and a short one only where it stands alone", () => {
    expect(scrubber.scrub(`x${KEY.slice(0, 14)}y`)).toBe(`x${REDACTED}y`);
    const tail = KEY.slice(-4);
    expect(scrubber.scrub(`${tail}x and x${tail}`)).toBe(`${tail}x and x${tail}`);
    expect(scrubber.scrub(`(${tail})`)).toBe(`(${REDACTED})`);
  });

  it("leaves ordinary text alone, and ignores values too short to be secrets", () => {
    const text = "Rate limit reached for gpt-4o-mini in organization org-1 on tokens per min. Limit 30000.";
    expect(new SecretScrubber([KEY, "true", "1234567"]).scrub(text)).toBe(text);
    expect(new SecretScrubber(["true"]).size).toBe(0);
  });

  it("cuts a URL-like secret whole but not its fragments (an os_env base URL must not cut every https://)", () => {
    const url = new SecretScrubber(["https://api.example.com/v1"]);
    expect(url.scrub("see https://ai.google.dev/docs or https://api.example.com/v1")).toBe(
      `see https://ai.google.dev/docs or ${REDACTED}`,
    );
  });

  it("cuts a secret that contains another one whole", () => {
    const nested = new SecretScrubber(["abcdefgh12", "xx-abcdefgh12-yy"]);
    expect(nested.scrub("xx-abcdefgh12-yy")).toBe(REDACTED);
  });

  it("scrubs every string of nested data, keys included", () => {
    const value = {
      error: { param: KEY, details: [{ metadata: { [KEY]: b64(KEY) } }], code: 401 },
      headers: { "x-echo": `Bearer ${KEY}` },
    };
    expect(scrubber.scrubDeep(value)).toEqual({
      error: { param: REDACTED, details: [{ metadata: { [REDACTED]: REDACTED } }], code: 401 },
      headers: { "x-echo": `Bearer ${REDACTED}` },
    });
  });
});

describe("the process-wide scrubber", () => {
  const remembered = "gw-test-secret-9f8e7d6c5b4a";

  it("cuts what was remembered, and scrubUpstreamText remembers the provider's key", () => {
    expect(scrubSecrets(`x ${remembered} y`)).toBe(`x ${remembered} y`);
    rememberSecrets([remembered, undefined]);
    expect(scrubSecrets(`x ${remembered} y`)).toBe(`x ${REDACTED} y`);
    const providerKey = "vendor-key-0a1b2c3d4e5f6a7b";
    expect(scrubUpstreamText(`bad ${providerKey}`, providerKey)).toBe(`bad ${REDACTED}`);
    expect(scrubSecretsDeep({ nested: [b64(providerKey)] })).toEqual({ nested: [REDACTED] });
  });

  it("cuts credential shapes from upstream text only", () => {
    expect(scrubUpstreamText("unknown key sk-other-tenant-0000 rejected")).toBe(
      "unknown key [redacted] rejected",
    );
    expect(scrubSecrets("unknown key sk-other-tenant-0000 rejected")).toBe(
      "unknown key sk-other-tenant-0000 rejected",
    );
  });

  it("gives log lines pino's error shape with every string scrubbed, causes included", () => {
    rememberSecrets([KEY]);
    const error = new ProxyError("authentication", `bad key ${KEY}`, {
      param: KEY,
      code: encodeURIComponent(KEY),
      cause: new Error(`upstream said ${b64(KEY)}`),
    });
    const logged = scrubErrorForLog(error) as Record<string, unknown>;
    expect(logged).toMatchObject({
      type: "ProxyError",
      kind: "authentication",
      param: REDACTED,
      code: REDACTED,
    });
    expect(String(logged.message)).toMatch(/^bad key \[redacted\]: upstream said \[redacted\]/);
    expect(JSON.stringify(logged)).not.toMatch(/Q7vX2mLp9|UTd2WDJt/);
  });

  it("is the edges' last line of defence: OpenAI envelope and Connect error", () => {
    rememberSecrets([KEY]);
    const error = new ProxyError("upstream_error", `echo ${KEY}`, { param: `p ${KEY}`, code: KEY });
    expect(toHttpError(error).body.error).toEqual({
      message: `echo ${REDACTED}`,
      type: "server_error",
      param: `p ${REDACTED}`,
      code: REDACTED,
    });
    const connectError = toConnectError(error);
    expect(connectError.rawMessage).toBe(`echo ${REDACTED}`);
    expect(connectError.code).toBe(Code.Unavailable);
  });
});
