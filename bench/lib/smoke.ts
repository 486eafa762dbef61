/**
 * Before measuring: one full request per request shape through each target, checked to the last token, so the
 * benchmark never times a proxy that answers quickly but wrongly.
 */
import { requestBody, type Scenario } from "./scenarios.ts";

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

function jsonText(where: string, body: string): string {
  const parsed = JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] };
  const content = parsed.choices?.[0]?.message?.content;
  if (typeof content !== "string") fail(where, `no choices[0].message.content in ${body.slice(0, 300)}`);
  return content;
}

/** Sends one request of the scenario's shape to `url` and checks the whole answer. */
export async function smokeCheck(label: string, url: string, scenario: Scenario): Promise<void> {
  const where = `${label} ${scenario.title}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: requestBody(scenario),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    fail(where, `request failed: ${String(error)}`);
  }
  const body = await response.text();
  if (response.status !== 200) fail(where, `status ${response.status}: ${body.slice(0, 500)}`);
  const text = scenario.stream ? sseText(where, body) : jsonText(where, body);
  if (text !== scenario.expectedText) {
    fail(
      where,
      `content ${JSON.stringify(text.slice(0, 80))} is not ${JSON.stringify(scenario.expectedText.slice(0, 80))}`,
    );
  }
}
