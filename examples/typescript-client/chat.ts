/**
 * An internal TypeScript service calling llm-proxy's ChatService over gRPC, with the code generated from
 * proto/ (gen/) and @connectrpc/connect-node. Run it against a gateway:
 *
 *   npx node examples/typescript-client/chat.ts [BASE_URL] [MODEL]   # default http://127.0.0.1:9000, first model
 *
 * When the gateway has client keys (`auth.keys`), put yours in LLM_PROXY_API_KEY.
 * It lists the models, makes one unary call, streams one answer, and shows how a gateway error arrives.
 * test/examples/typescript-client.test.ts runs this file against a real gateway.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ChatService } from "../../gen/llmproxy/v1/chat_pb.ts";

/**
 * A ChatService client speaking gRPC over HTTP/2 cleartext (prior knowledge) to the gateway's one port. The key,
 * if any, travels as `authorization: Bearer` metadata on every call.
 */
export function createChatClient(baseUrl: string, apiKey?: string) {
  const authorize: Interceptor = (next) => (request) => {
    if (apiKey !== undefined && apiKey !== "") request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  };
  return createClient(ChatService, createGrpcTransport({ baseUrl, interceptors: [authorize] }));
}

async function main(baseUrl: string, requestedModel: string | undefined): Promise<void> {
  const client = createChatClient(baseUrl, process.env.LLM_PROXY_API_KEY);

  const { data } = await client.listModels({});
  console.log(`models: ${data.map((model) => model.id).join(", ")}`);
  const model = requestedModel ?? data[0]?.id ?? "echo-1";

  // Unary. Metadata goes in `headers`; the gateway echoes x-request-id and logs it on every line of the call.
  const response = await client.createChatCompletion(
    { model, messages: [{ role: "user", content: "Hello from TypeScript" }], maxTokens: 64 },
    {
      timeoutMs: 30_000,
      headers: { "x-request-id": "example-unary-1" },
      onHeader: (headers) => console.log(`request id: ${headers.get("x-request-id")}`),
    },
  );
  const choice = response.choices[0];
  console.log(`unary: ${choice?.message?.content ?? ""} (finish_reason ${choice?.finishReason})`);
  console.log(`usage: ${response.usage?.totalTokens ?? 0} tokens`);

  // Server streaming: one message per chunk, the last one carrying usage when asked for.
  let streamed = "";
  for await (const chunk of client.streamChatCompletion(
    {
      model,
      messages: [{ role: "user", content: "Stream these words back" }],
      streamOptions: { includeUsage: true },
    },
    { timeoutMs: 60_000 },
  )) {
    streamed += chunk.choices[0]?.delta?.content ?? "";
    if (chunk.usage !== undefined) console.log(`stream usage: ${chunk.usage.totalTokens} tokens`);
  }
  console.log(`stream: ${streamed}`);

  // Failures are ConnectErrors with the gRPC code the gateway mapped (README "Errors").
  try {
    await client.createChatCompletion({
      model: "no-such-model",
      messages: [{ role: "user", content: "Hi" }],
    });
  } catch (error) {
    const connectError = ConnectError.from(error);
    console.log(`error: ${Code[connectError.code]}: ${connectError.rawMessage}`);
  }
}

if (import.meta.main) {
  main(process.argv[2] ?? "http://127.0.0.1:9000", process.argv[3]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
