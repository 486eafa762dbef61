/**
 * The model a request names, or the gateway's default model when it names none (absent or empty, as proto3
 * strings are), for the edges whose protocols let the model be left out; neither is OpenAI's own refusal.
 */
import { ProxyError } from "../core/errors.ts";

export function requestModel(model: string | undefined, defaultModel: string | undefined): string {
  const chosen = model === undefined || model === "" ? defaultModel : model;
  if (chosen === undefined) {
    throw new ProxyError("invalid_request", "you must provide a model parameter", { param: "model" });
  }
  return chosen;
}
