/**
 * GET /v1/models/{model} through the openai SDK, as OpenAI serves it: the model object of the list, OpenAI's
 * 404 envelope for a name the gateway does not serve (or the client key may not use), and names with `/`,
 * which the Node SDK sends as `%2F` and other clients send as is.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../helpers/start-server.ts";

const KEY = "models-retrieve-key-0123";
const LIMITED_KEY = "models-retrieve-limited-0123";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(`
model_config: {echo-1: echo, "deepseek-ai/DeepSeek-V3": echo}
auth:
  keys:
    - {name: all, key: ${KEY}}
    - {name: limited, key: ${LIMITED_KEY}, models: [echo-1]}
`);
});
afterAll(async () => {
  await server.close();
});

const client = (apiKey = KEY) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });

describe("GET /v1/models/{model}", () => {
  it("answers the model object the list holds", async () => {
    const model = await client().models.retrieve("echo-1");
    expect(model).toEqual({ id: "echo-1", object: "model", created: 0, owned_by: "echo" });
    const listed = await client().models.list();
    expect(listed.data).toContainEqual(model);
  });

  it("serves a name with / whether it arrives percent-encoded (the SDK) or as is", async () => {
    expect(await client().models.retrieve("deepseek-ai/DeepSeek-V3")).toMatchObject({
      id: "deepseek-ai/DeepSeek-V3",
      object: "model",
    });
    const literal = await fetch(`${server.url}/v1/models/deepseek-ai/DeepSeek-V3`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(literal.status).toBe(200);
    expect(await literal.json()).toMatchObject({ id: "deepseek-ai/DeepSeek-V3" });
  });

  it("answers OpenAI's 404 for an unknown name, and for a name the key may not use", async () => {
    for (const [apiKey, name] of [
      [KEY, "no-such-model"],
      [KEY, "deepseek-ai/no-such"],
      [LIMITED_KEY, "deepseek-ai/DeepSeek-V3"],
    ] as const) {
      const error = await client(apiKey)
        .models.retrieve(name)
        .catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
        message: `The model '${name}' does not exist on this gateway.`,
        code: "model_not_found",
        param: "model",
      });
    }
    expect(await client(LIMITED_KEY).models.retrieve("echo-1")).toMatchObject({ id: "echo-1" });
  });

  it("asks for a client key like every model route", async () => {
    const error = await client("wrong-key-0123456789")
      .models.retrieve("echo-1")
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
