/**
 * What an OpenAI-compatible choice says besides its text and tool calls, in canonical form: the log
 * probabilities (with the keys the vendor sent: a missing list stays missing, a null one null) and the
 * annotations of the kind OpenAI documents (`url_citation`; others were read as null by the schema and are left
 * out). The edges write them back unchanged.
 * @see https://platform.openai.com/docs/api-reference/chat/object (logprobs, message.annotations)
 */
import type { Annotation, ChatChunk, ChoiceLogprobs, TokenLogprob, TopLogprob } from "../../core/types.ts";
import type { OpenAIAnnotation, OpenAILogprobs } from "./wire.ts";

type WireTopLogprob = NonNullable<NonNullable<OpenAILogprobs["content"]>[number]["top_logprobs"]>[number];
type WireTokenLogprob = NonNullable<OpenAILogprobs["content"]>[number];

function convertTop(top: WireTopLogprob): TopLogprob {
  return top.bytes === undefined
    ? { token: top.token, logprob: top.logprob }
    : { token: top.token, logprob: top.logprob, bytes: top.bytes };
}

function convertToken(token: WireTokenLogprob): TokenLogprob {
  const top = token.top_logprobs;
  const converted = convertTop(token);
  return top === undefined
    ? converted
    : { ...converted, topLogprobs: top === null ? null : top.map(convertTop) };
}

/** A choice's `logprobs` object as canonical logprobs. */
export function convertOpenAILogprobs(logprobs: OpenAILogprobs): ChoiceLogprobs {
  const { content, refusal } = logprobs;
  const out: { content?: TokenLogprob[] | null; refusal?: TokenLogprob[] | null } = {};
  if (content !== undefined) out.content = content === null ? null : content.map(convertToken);
  if (refusal !== undefined) out.refusal = refusal === null ? null : refusal.map(convertToken);
  return out;
}

/** The url_citation annotations of a list, in order. */
export function convertOpenAIAnnotations(annotations: readonly OpenAIAnnotation[]): Annotation[] {
  const out: Annotation[] = [];
  for (const annotation of annotations) {
    if (annotation === null) continue;
    const citation = annotation.url_citation;
    out.push({
      type: "url_citation",
      url: citation.url,
      title: citation.title,
      startIndex: citation.start_index,
      endIndex: citation.end_index,
    });
  }
  return out;
}

/**
 * A delta's (or message's) text and refusal, with the choice's logprobs on the first of them, or on an empty
 * text piece when it has neither (OpenAI sends `{"content":[],"refusal":null}` with a choice's opening delta).
 * Returns whether any text or refusal was pushed.
 */
export function pushWithLogprobs(
  choice: number,
  said: { readonly content?: string | null; readonly refusal?: string | null },
  wireLogprobs: OpenAILogprobs,
  out: ChatChunk[],
): boolean {
  let logprobs: ChoiceLogprobs | undefined = convertOpenAILogprobs(wireLogprobs);
  let produced = false;
  if (said.content) {
    out.push({ type: "text-delta", choice, text: said.content, logprobs });
    logprobs = undefined;
    produced = true;
  }
  if (said.refusal) {
    out.push(
      logprobs === undefined
        ? { type: "refusal-delta", choice, text: said.refusal }
        : { type: "refusal-delta", choice, text: said.refusal, logprobs },
    );
    logprobs = undefined;
    produced = true;
  }
  if (logprobs !== undefined) out.push({ type: "text-delta", choice, text: "", logprobs });
  return produced;
}

/** An annotation-delta for a list, unless every annotation in it was of a kind not carried. */
export function pushAnnotations(
  choice: number,
  annotations: readonly OpenAIAnnotation[],
  out: ChatChunk[],
): void {
  const converted = convertOpenAIAnnotations(annotations);
  if (converted.length > 0 || annotations.length === 0)
    out.push({ type: "annotation-delta", choice, annotations: converted });
}
