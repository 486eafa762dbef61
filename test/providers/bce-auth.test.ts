/**
 * Baidu's bce-auth-v1 signature with a fixed clock. The first two cases are the published vectors of Baidu's own
 * JavaScript SDK (baidubce/bce-sdk-js, test/sdk/auth.spec.js: a PUT with query parameters and an x-bce-* header,
 * a DELETE signing content-type and content-length): same request in, same Authorization out. The third is the
 * request that mints a Qianfan token, whose expected signature is derived here by hand from the documented
 * algorithm with node:crypto (Baidu publishes no vector for it).
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bceAuthorization, uriEncode } from "../../src/providers/qianfan/bce-auth.ts";

const sdkCredentials = { accessKeyId: "my_ak", secretAccessKey: "my_sk" };
/** 1402639056 s: the SDK test's clock, 2014-06-13T05:57:36Z. */
const sdkClock = new Date(1_402_639_056_000);

describe("bce-auth-v1", () => {
  it("gives the Authorization Baidu's SDK gives for its published PUT request", () => {
    const authorization = bceAuthorization(sdkCredentials, {
      method: "PUT",
      path: "/v1/bucket/object1",
      query: { A: "", b: "", C: "d" },
      headers: { Host: "bce.baidu.com", abc: "123", "x-bce-meta-key1": "ABC" },
      timestamp: sdkClock,
      expirationSeconds: 1800,
    });
    expect(authorization).toBe(
      "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/host;x-bce-meta-key1/" +
        "80c9672aca2ea9af4bb40b9a8ff458d72df94e97d550840727f3a929af271d25",
    );
  });

  it("gives the Authorization Baidu's SDK gives for its published DELETE request", () => {
    const authorization = bceAuthorization(sdkCredentials, {
      method: "DELETE",
      path: "/v1/test-bucket1361199862",
      query: {},
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": "0",
        "User-Agent": "This is the user-agent",
      },
      timestamp: sdkClock,
      expirationSeconds: 1800,
    });
    expect(authorization).toBe(
      "bce-auth-v1/my_ak/2014-06-13T05:57:36Z/1800/content-length;content-type/" +
        "c9386b15d585960ae5e6972f73ed92a9a682dc81025480ba5b41206d3e489822",
    );
  });

  it("signs the token request as the documented algorithm says (derived by hand)", () => {
    const credentials = {
      accessKeyId: "ALTAKexampleAccessKey",
      secretAccessKey: "exampleSecretKey0123456789",
    };
    const authorization = bceAuthorization(credentials, {
      method: "GET",
      path: "/v1/BCE-BEARER/token",
      query: { expireInSeconds: "3600" },
      headers: { host: "iam.bj.baidubce.com", "x-bce-date": "2026-12-06T21:00:00Z" },
      timestamp: new Date("2026-12-06T21:00:00.250Z"),
      expirationSeconds: 1800,
    });
    const prefix = "bce-auth-v1/ALTAKexampleAccessKey/2026-12-06T21:00:00Z/1800";
    const canonical =
      "GET\n/v1/BCE-BEARER/token\nexpireInSeconds=3600\nhost:iam.bj.baidubce.com\nx-bce-date:2026-12-06T21%3A00%3A00Z";
    const signingKey = createHmac("sha256", "exampleSecretKey0123456789").update(prefix).digest("hex");
    const signature = createHmac("sha256", signingKey).update(canonical).digest("hex");
    expect(authorization).toBe(`${prefix}/host;x-bce-date/${signature}`);
  });

  it("percent-encodes as RFC 3986 says: unreserved characters kept, the rest upper-case %XX, / only in paths", () => {
    expect(uriEncode("a-b_c.d~e")).toBe("a-b_c.d~e");
    expect(uriEncode("!'()* /:测")).toBe("%21%27%28%29%2A%20%2F%3A%E6%B5%8B");
    expect(uriEncode("/v1/a b/c", true)).toBe("/v1/a%20b/c");
  });
});
