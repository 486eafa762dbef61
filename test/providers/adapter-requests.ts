/**
 * Request-side adapter tests: what an adapter sends upstream for a canonical request, and the requests it must
 * refuse before sending anything. The answer replayed is a recorded fixture; only the outgoing request matters.
 */
import { expect } from "vitest";
import { ProxyError } from "../../src/core/errors.ts";
import type { ChatRequest } from "../../src/core/types.ts";
import type { ProviderAdapter } from "../../src/providers/types.ts";
import {
  createReplayTransport,
  createTestContext,
  type RecordedRequest,
  sseRecording,
} from "../helpers/replay-transport.ts";

/** Streams `request` through `adapter` against the `fixture` recording; returns what reached the upstream. */
export async function sendThroughAdapter(
  adapter: ProviderAdapter,
  request: ChatRequest,
  fixture: string,
  upstreamModel: string,
): Promise<RecordedRequest> {
  const transport = createReplayTransport(sseRecording(fixture));
  for await (const _chunk of adapter.stream(request, createTestContext({ transport, upstreamModel }))) {
    // drain
  }
  const [sent] = transport.requests;
  if (sent === undefined) throw new Error("no upstream request was sent");
  return sent;
}

/** Runs a request that must fail before any upstream call; returns the error (and checks nothing was sent). */
export async function rejectionBeforeSending(
  adapter: ProviderAdapter,
  request: ChatRequest,
): Promise<ProxyError> {
  const transport = createReplayTransport([]);
  try {
    for await (const _chunk of adapter.stream(request, createTestContext({ transport }))) {
      // drain
    }
  } catch (error) {
    expect(transport.requests).toHaveLength(0);
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error("the request was accepted");
}
