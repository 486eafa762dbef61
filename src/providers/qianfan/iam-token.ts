/**
 * Qianfan bearer tokens minted from an IAM Access Key / Secret Key pair: one signed
 * `GET {iam}/v1/BCE-BEARER/token?expireInSeconds=N`, shared by every request until shortly before it expires
 * (concurrent requests wait for the same mint), and minted again when Qianfan answers 401 to it. Neither the
 * keys nor a token are ever logged; each token is added to the secret scrubber as soon as it arrives.
 * @see docs/wire-formats.md#qianfan-access-key-and-secret-key
 */
import { request as undiciRequest } from "undici";
import { z } from "zod";
import { ProxyError } from "../../core/errors.ts";
import { rememberSecrets, scrubUpstreamText } from "../../core/secret-scrubber.ts";
import type { CallContext } from "../types.ts";
import { type BceCredentials, bceAuthorization, bceTimestamp } from "./bce-auth.ts";

/** Lifetime asked of IAM: a token per hour, so a revoked key stops working within the hour. */
export const TOKEN_LIFETIME_SECONDS = 3600;
/** How long the signature of the mint request stays valid (it is sent at once). */
const SIGNATURE_SECONDS = 1800;
/** A token is replaced this long before it expires (at most a tenth of its life), so none expires in flight. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** The mint call's own budget: it is shared, so no single request's signal may cut it short. */
const MINT_TIMEOUT_MS = 10_000;
/** Longest IAM answer read. */
const MAX_BODY_CHARS = 64 * 1024;

const IAM_TOKEN_PATH = "/v1/BCE-BEARER/token";

/** IAM's answer; only `token` and `expireTime` are used. */
const tokenAnswerSchema = z.object({ token: z.string().min(1), expireTime: z.string().optional() });

/** Where the gateway gets the bearer of its next Qianfan call. */
export interface BearerSource {
  /** A token valid now: the cached one, or a fresh one. Rejects with ProxyError. */
  token(context: CallContext): Promise<string>;
  /** Drops `token` if it is still the cached one (Qianfan refused it), so the next call mints another. */
  invalidate(token: string): void;
}

interface CachedToken {
  readonly value: string;
  /** Epoch ms after which a new one is minted. */
  readonly refreshAt: number;
}

/** A BearerSource for one key pair and IAM endpoint (`https://iam.bj.baidubce.com`, or a test's mock). */
export function createIamBearerSource(credentials: BceCredentials, iamUrl: string): BearerSource {
  rememberSecrets([credentials.accessKeyId, credentials.secretAccessKey]);
  let cached: CachedToken | undefined;
  let minting: Promise<CachedToken> | undefined;
  const mint = (context: CallContext): Promise<CachedToken> => {
    minting ??= mintToken(credentials, iamUrl, context).finally(() => {
      minting = undefined;
    });
    return minting;
  };
  return {
    async token(context) {
      if (cached !== undefined && context.now() < cached.refreshAt) return cached.value;
      const fresh = await waitFor(mint(context), context.signal);
      cached = fresh;
      return fresh.value;
    },
    invalidate(token) {
      if (cached?.value === token) cached = undefined;
    },
  };
}

/** One signed call to IAM; the answer's expireTime (else the asked lifetime) sets when to refresh. */
async function mintToken(
  credentials: BceCredentials,
  iamUrl: string,
  context: CallContext,
): Promise<CachedToken> {
  const mintedAt = context.now();
  const url = new URL(`${iamUrl}${IAM_TOKEN_PATH}`);
  const query = { expireInSeconds: String(TOKEN_LIFETIME_SECONDS) };
  url.search = new URLSearchParams(query).toString();
  const headers = { host: url.host, "x-bce-date": bceTimestamp(new Date(mintedAt)) };
  const authorization = bceAuthorization(credentials, {
    method: "GET",
    path: url.pathname,
    query,
    headers,
    timestamp: new Date(mintedAt),
    expirationSeconds: SIGNATURE_SECONDS,
  });
  const { host: _host, ...sent } = headers;
  let status: number;
  let text: string;
  try {
    const response = await undiciRequest(url, {
      method: "GET",
      headers: { ...sent, authorization, "x-request-id": context.requestId },
      signal: AbortSignal.timeout(MINT_TIMEOUT_MS),
    });
    status = response.statusCode;
    text = (await response.body.text()).slice(0, MAX_BODY_CHARS);
  } catch (error) {
    throw new ProxyError(
      "upstream_unavailable",
      `Could not reach Qianfan IAM (${url.host}) to mint a token.`,
      {
        cause: error,
      },
    );
  }
  if (status < 200 || status >= 300) throw iamFailure(status, text);
  const answer = tokenAnswerSchema.safeParse(parseJson(text));
  if (!answer.success) {
    throw new ProxyError("bad_upstream_response", "Qianfan IAM answered without a bearer token.");
  }
  rememberSecrets([answer.data.token]);
  const expiresAt = parseExpiry(answer.data.expireTime) ?? mintedAt + TOKEN_LIFETIME_SECONDS * 1000;
  const margin = Math.min(REFRESH_MARGIN_MS, Math.max(0, expiresAt - mintedAt) / 10);
  context.log.info(
    { iam: url.host, expiresAt: new Date(expiresAt).toISOString() },
    "minted a Qianfan bearer token from the access key",
  );
  return { value: answer.data.token, refreshAt: expiresAt - margin };
}

/** A refused key pair is an authentication error (not retried); anything else may pass. */
function iamFailure(status: number, body: string): ProxyError {
  const parsed = parseJson(body);
  const code =
    typeof parsed === "object" && parsed !== null && "code" in parsed && typeof parsed.code === "string"
      ? scrubUpstreamText(parsed.code).slice(0, 100)
      : undefined;
  const detail = code === undefined ? "" : ` (${code})`;
  const kind =
    status === 401 || status === 403 ? "authentication" : status === 429 ? "rate_limited" : "upstream_error";
  return new ProxyError(kind, `Qianfan IAM refused to mint a bearer token: HTTP ${status}${detail}.`, {
    upstreamStatus: status,
  });
}

function parseExpiry(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `promise`, or the request's own abort if that comes first (the shared mint goes on for the others). */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(ProxyError.from(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(ProxyError.from(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
