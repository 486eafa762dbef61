/**
 * postUpstream with a bearer token that expires (Qianfan's, minted from an access key: ./qianfan/iam-token.ts)
 * instead of a fixed key: the token goes in `Authorization`, and a 401 answer is taken as a token the vendor no
 * longer accepts (revoked, or expired early), so the request is sent once more with a freshly minted one. A
 * second 401 is the vendor's verdict and goes to the client.
 */
import { ProxyError } from "../core/errors.ts";
import { postUpstream, type UpstreamErrorMapper } from "./http.ts";
import type { BearerSource } from "./qianfan/iam-token.ts";
import type { CallContext, UpstreamResponse } from "./types.ts";

/** POSTs with `Bearer <token>` from `bearer`; resolves only with a 2xx response. */
export async function postWithBearer(
  context: CallContext,
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  mapError: UpstreamErrorMapper,
  bearer: BearerSource,
): Promise<UpstreamResponse> {
  const token = await bearer.token(context);
  try {
    return await postUpstream(context, url, { ...headers, authorization: `Bearer ${token}` }, body, mapError);
  } catch (error) {
    if (!(error instanceof ProxyError) || error.upstreamStatus !== 401) throw error;
    bearer.invalidate(token);
    context.log.info("the vendor refused the minted bearer token (401): minting another and sending again");
    const fresh = await bearer.token(context);
    return await postUpstream(context, url, { ...headers, authorization: `Bearer ${fresh}` }, body, mapError);
  }
}

/** POSTs with the setup's fixed headers, or with a minted bearer token when the provider has a `bearer` source. */
export function postWithKeyOrBearer(
  context: CallContext,
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  mapError: UpstreamErrorMapper,
  bearer: BearerSource | undefined,
): Promise<UpstreamResponse> {
  return bearer === undefined
    ? postUpstream(context, url, headers, body, mapError)
    : postWithBearer(context, url, headers, body, mapError, bearer);
}
