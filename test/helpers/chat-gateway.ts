/** The gateway most resilience tests run: one OpenAI-compatible vendor serving the model `chat`. */
import { type RunningServer, startServer } from "./start-server.ts";

/** Starts a gateway whose model `chat` goes to the vendor at `vendor.baseUrl`; `sections`: more YAML (e.g. `proxy: {...}`). */
export function startChatGateway(
  vendor: { readonly baseUrl: string },
  sections = "",
): Promise<RunningServer> {
  return startServer(`
providers:
  vendor: {type: openai, base_url: "${vendor.baseUrl}"}
model_config: {chat: vendor}
${sections}
`);
}
