/**
 * Real clients for the resilience e2e tests: the official openai SDK with `maxRetries: 0` (so only the gateway
 * retries) and @grpc/grpc-js, each returning what the client saw plus `performance.now()` timestamps in the same
 * clock as test/helpers/fault-upstream.ts records.
 */
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import type { GrpcChatClient, GrpcChunk } from "./grpc-js-client.ts";

/** The SDK as a user would configure it, minus its own retries. */
export function openAIClient(gatewayUrl: string): OpenAI {
  return new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: "client-key", maxRetries: 0 });
}

const messages = [{ role: "user" as const, content: "Hello" }];

/** What a streaming SDK call saw. */
export interface SdkStreamResult {
  readonly text: string;
  readonly chunks: number;
  readonly error: unknown;
  /** performance.now() when the client aborted, if it did. */
  readonly abortedAt: number | undefined;
  readonly endedAt: number;
}

/** Streams a chat; aborts after `abortAfterChunks` content chunks when given. */
export async function sdkStream(
  client: OpenAI,
  model: string,
  options: { readonly requestId?: string; readonly abortAfterChunks?: number } = {},
): Promise<SdkStreamResult> {
  let text = "";
  let chunks = 0;
  let abortedAt: number | undefined;
  try {
    const stream = await client.chat.completions.create(
      { model, messages, stream: true },
      options.requestId === undefined ? {} : { headers: { "x-request-id": options.requestId } },
    );
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content ?? "";
      text += content;
      if (content !== "") chunks += 1;
      if (options.abortAfterChunks !== undefined && chunks >= options.abortAfterChunks) {
        abortedAt = performance.now();
        stream.controller.abort();
      }
    }
  } catch (error) {
    return { text, chunks, error, abortedAt, endedAt: performance.now() };
  }
  return { text, chunks, error: undefined, abortedAt, endedAt: performance.now() };
}

/** A non-streaming SDK call: the answer's text or the error. */
export async function sdkComplete(
  client: OpenAI,
  model: string,
  requestId?: string,
): Promise<{ readonly text: string | undefined; readonly error: unknown }> {
  try {
    const completion = await client.chat.completions.create(
      { model, messages },
      requestId === undefined ? {} : { headers: { "x-request-id": requestId } },
    );
    return { text: completion.choices[0]?.message.content ?? "", error: undefined };
  } catch (error) {
    return { text: undefined, error };
  }
}

/** What a streaming RPC saw. */
export interface GrpcStreamResult {
  readonly text: string;
  readonly messages: number;
  readonly code: grpc.status;
  readonly details: string;
  readonly cancelledAt: number | undefined;
  readonly endedAt: number;
}

/** One streaming RPC; cancels after `cancelAfterMessages` content messages, or sets a deadline. */
export function grpcStream(
  client: GrpcChatClient,
  model: string,
  options: {
    readonly requestId?: string;
    readonly cancelAfterMessages?: number;
    readonly deadlineMs?: number;
  } = {},
): Promise<GrpcStreamResult> {
  const metadata = new grpc.Metadata();
  if (options.requestId !== undefined) metadata.set("x-request-id", options.requestId);
  const callOptions: grpc.CallOptions =
    options.deadlineMs === undefined ? {} : { deadline: new Date(Date.now() + options.deadlineMs) };
  const call = client.StreamChatCompletion({ model, messages }, metadata, callOptions);
  let text = "";
  let messageCount = 0;
  let cancelledAt: number | undefined;
  return new Promise((resolve) => {
    call.on("data", (chunk: GrpcChunk) => {
      const content = chunk.choices?.[0]?.delta?.content ?? "";
      text += content;
      if (content !== "") messageCount += 1;
      if (options.cancelAfterMessages !== undefined && messageCount === options.cancelAfterMessages) {
        cancelledAt = performance.now();
        call.cancel();
      }
    });
    // 'error' (any non-OK status) or 'end' + 'status' OK: either way 'status' comes last.
    call.on("error", () => undefined);
    call.on("status", (status: grpc.StatusObject) =>
      resolve({
        text,
        messages: messageCount,
        code: status.code,
        details: status.details,
        cancelledAt,
        endedAt: performance.now(),
      }),
    );
  });
}

/** One unary RPC with an optional deadline. */
export function grpcUnary(
  client: GrpcChatClient,
  model: string,
  options: { readonly deadlineMs?: number; readonly requestId?: string } = {},
): Promise<{ readonly text: string | undefined; readonly code: grpc.status; readonly details: string }> {
  const metadata = new grpc.Metadata();
  if (options.requestId !== undefined) metadata.set("x-request-id", options.requestId);
  const callOptions: grpc.CallOptions =
    options.deadlineMs === undefined ? {} : { deadline: new Date(Date.now() + options.deadlineMs) };
  return new Promise((resolve) => {
    client.CreateChatCompletion({ model, messages }, metadata, callOptions, (error, response) =>
      resolve(
        error === null
          ? { text: response?.choices?.[0]?.message?.content ?? "", code: grpc.status.OK, details: "" }
          : { text: undefined, code: error.code, details: error.details },
      ),
    );
  });
}

/** Timeout handles alive in this process (the gateway under test runs here too). */
export function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;
}
