/**
 * Before measuring: one full request per request shape through each target, checked to the last token, so the
 * benchmark never times a proxy that answers quickly but wrongly.
 */
import { connect } from "node:http2";
import {
  ChatCompletionChunkSchema,
  CreateChatCompletionResponseSchema,
} from "../../gen/llmproxy/v1/chat_pb.ts";
import { decodeGrpcMessages, GRPC_STREAM_PATH, GRPC_UNARY_PATH, grpcRequestBody } from "./grpc-body.ts";
import { apiPath, requestBody, type Scenario } from "./scenarios.ts";

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

function sseText(where: string, body: string): string {
  let text = "";
  let done = false;
  for (const line of body.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (data === "[DONE]") {
      done = true;
      continue;
    }
    const chunk = JSON.parse(data) as { error?: unknown; choices?: { delta?: { content?: unknown } }[] };
    if (chunk.error !== undefined) fail(where, `stream carried an error: ${JSON.stringify(chunk.error)}`);
    const content = chunk.choices?.[0]?.delta?.content;
    if (typeof content === "string") text += content;
  }
  if (!done) fail(where, "stream did not end with data: [DONE]");
  return text;
}

/** The text of Anthropic's SSE (`text_delta`s), which must end with `message_stop`. */
function messagesText(where: string, body: string): string {
  let text = "";
  for (const line of body.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const event = JSON.parse(line.slice(5)) as { type?: string; delta?: { text?: unknown } };
    if (event.type === "error") fail(where, `stream carried an error: ${line}`);
    if (typeof event.delta?.text === "string") text += event.delta.text;
  }
  if (!body.includes("event: message_stop")) fail(where, "stream did not end with message_stop");
  return text;
}

/** The text of a Responses stream (`response.output_text.delta`s), which must end with `response.completed`. */
function responsesText(where: string, body: string): string {
  let text = "";
  for (const line of body.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const event = JSON.parse(line.slice(5)) as { type?: string; delta?: unknown };
    if (event.type === "response.failed" || event.type === "error") fail(where, `stream failed: ${line}`);
    if (event.type === "response.output_text.delta" && typeof event.delta === "string") text += event.delta;
  }
  if (!body.includes("event: response.completed")) fail(where, "stream did not end with response.completed");
  return text;
}

function jsonText(where: string, body: string): string {
  const parsed = JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] };
  const content = parsed.choices?.[0]?.message?.content;
  if (typeof content !== "string") fail(where, `no choices[0].message.content in ${body.slice(0, 300)}`);
  return content;
}

/** One gRPC call over h2c: the body and the trailers (or the headers of a trailers-only answer). */
function grpcCall(origin: string, path: string, body: Buffer): Promise<{ body: Buffer; status: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(origin);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const parts: Buffer[] = [];
    let status = "";
    stream.on("response", (headers) => {
      status = String(headers["grpc-status"] ?? status);
    });
    stream.on("trailers", (trailers) => {
      status = String(trailers["grpc-status"] ?? "");
    });
    stream.on("data", (part: Buffer) => parts.push(part));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ body: Buffer.concat(parts), status });
    });
    stream.setTimeout(10_000, () => stream.close());
    stream.end(body);
  });
}

async function grpcSmokeCheck(where: string, url: string, scenario: Scenario): Promise<string> {
  const path = scenario.stream ? GRPC_STREAM_PATH : GRPC_UNARY_PATH;
  const answer = await grpcCall(
    new URL(url).origin,
    path,
    Buffer.from(grpcRequestBody(scenario.model), "base64"),
  );
  if (answer.status !== "0") fail(where, `grpc-status ${answer.status}`);
  if (!scenario.stream) {
    const [response] = decodeGrpcMessages(answer.body, CreateChatCompletionResponseSchema);
    return response?.choices[0]?.message?.content ?? "";
  }
  return decodeGrpcMessages(answer.body, ChatCompletionChunkSchema)
    .map((chunk) => chunk.choices[0]?.delta?.content ?? "")
    .join("");
}

/** Sends one request of the scenario's shape to `url` and checks the whole answer. */
export async function smokeCheck(label: string, url: string, scenario: Scenario): Promise<void> {
  const where = `${label} ${scenario.title}`;
  if (scenario.protocol === "grpc") {
    const text = await grpcSmokeCheck(where, url, scenario);
    if (text !== scenario.expectedText)
      fail(
        where,
        `content ${JSON.stringify(text.slice(0, 80))} is not ${JSON.stringify(scenario.expectedText.slice(0, 80))}`,
      );
    return;
  }
  const target = new URL(url);
  target.pathname = apiPath(scenario) ?? target.pathname;
  let response: Response;
  try {
    response = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(scenario.apiKey === undefined ? {} : { authorization: `Bearer ${scenario.apiKey}` }),
      },
      body: requestBody(scenario),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    fail(where, `request failed: ${String(error)}`);
  }
  const body = await response.text();
  if (response.status !== 200) fail(where, `status ${response.status}: ${body.slice(0, 500)}`);
  const text =
    scenario.api === "messages"
      ? messagesText(where, body)
      : scenario.api === "responses"
        ? responsesText(where, body)
        : scenario.stream
          ? sseText(where, body)
          : jsonText(where, body);
  if (text !== scenario.expectedText) {
    fail(
      where,
      `content ${JSON.stringify(text.slice(0, 80))} is not ${JSON.stringify(scenario.expectedText.slice(0, 80))}`,
    );
  }
}
