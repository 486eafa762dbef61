import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PROXY_ERROR_KINDS, ProxyError, type ProxyErrorKind } from "../../src/core/errors.ts";
import { CONNECT_CODE_BY_KIND, toConnectError } from "../../src/grpc/errors.ts";

/** The intended mapping, spelled out so a change to the table is a visible change to this test. */
const EXPECTED: Record<ProxyErrorKind, Code> = {
  invalid_request: Code.InvalidArgument,
  request_too_large: Code.ResourceExhausted,
  model_not_found: Code.NotFound,
  authentication: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  upstream_not_found: Code.NotFound,
  rate_limited: Code.ResourceExhausted,
  quota_exceeded: Code.ResourceExhausted,
  limit_exceeded: Code.ResourceExhausted,
  overloaded: Code.Unavailable,
  upstream_error: Code.Unavailable,
  upstream_unavailable: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  bad_upstream_response: Code.Internal,
  cancelled: Code.Canceled,
  configuration: Code.FailedPrecondition,
  internal: Code.Internal,
};

describe("CONNECT_CODE_BY_KIND", () => {
  it("maps every ProxyError kind, and nothing else", () => {
    expect(Object.keys(CONNECT_CODE_BY_KIND).sort()).toEqual([...PROXY_ERROR_KINDS].sort());
    for (const kind of PROXY_ERROR_KINDS) expect(Code[CONNECT_CODE_BY_KIND[kind]], kind).toBeDefined();
  });

  it("uses the intended code for each kind", () => {
    expect(CONNECT_CODE_BY_KIND).toEqual(EXPECTED);
  });
});

describe("toConnectError", () => {
  it.each(PROXY_ERROR_KINDS)("turns a %s ProxyError into its code with the ProxyError's message", (kind) => {
    const proxyError = new ProxyError(kind, `safe message for ${kind}`, {
      cause: new Error("db password leaked"),
    });
    const error = toConnectError(proxyError);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe(EXPECTED[kind]);
    expect(error.rawMessage).toBe(`safe message for ${kind}`);
    expect(error.cause).toBe(proxyError);
    expect(error.message).not.toContain("password");
  });

  it("hides the message of an unknown error behind a generic internal one", () => {
    const error = toConnectError(new TypeError("Cannot read properties of undefined (reading 'apiKey')"));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("Internal error in the gateway.");
    expect(error.message).not.toContain("apiKey");
  });

  it("treats platform aborts and timeouts as cancellation and deadline", () => {
    expect(toConnectError(new DOMException("gone", "AbortError")).code).toBe(Code.Canceled);
    expect(toConnectError(new DOMException("slow", "TimeoutError")).code).toBe(Code.DeadlineExceeded);
  });
});
