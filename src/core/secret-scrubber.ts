/**
 * The one scrubber for secrets in text that leaves the process: every string of an upstream error (message,
 * param, code, type, nested values, headers) before it reaches a client or a log line, and what /config and
 * reload outcomes show. A known secret is cut
 * - verbatim;
 * - percent-encoded (any mix of literal characters and `%XX`, either hex case), as it appears in echoed URLs;
 * - base64- and base64url-encoded at any byte offset, so also inside `base64("Bearer " + key)` or a Basic
 *   header; at most the two characters at each end that also depend on the neighbouring bytes stay;
 * - as the masked forms vendors echo: a leading or trailing fragment of at least MIN_FRAGMENT_CHARS characters
 *   (`sk-proj-****abcd`, `sk-abc***...wxyz`).
 * Text from upstreams additionally loses anything shaped like a credential the gateway does not know (another
 * tenant's key quoted by a relay, a bearer token).
 *
 * The known secrets are kept for the whole process: an edge renders errors of whichever runtime served the call,
 * and a retired key is still worth cutting when an old answer echoes it. It runs only on failures.
 */
import { stdSerializers } from "pino";

/** What a cut secret is replaced with. */
export const REDACTED = "[redacted]";

/** Shorter values are not treated as secrets: "1" or "true" in os_env would wreck every string. */
export const MIN_SECRET_CHARS = 8;

/**
 * Shortest fragment of a key that counts as the key. Four characters is the least vendors show of a key when
 * they mask it (OpenAI's `…abcd`); fewer carry too little of a key to matter and cannot be told apart from
 * ordinary text. A fragment shorter than LONG_FRAGMENT_CHARS counts only when it stands alone (no letter or
 * digit touches it on either side, as in `****abcd.`), so a key ending in "abcd" does not cut "abcdef".
 */
export const MIN_FRAGMENT_CHARS = 4;

/** Twelve characters in a row of a random key do not occur by chance: such a fragment is cut wherever it stands. */
const LONG_FRAGMENT_CHARS = 12;

/** The process keeps at most this many secrets (reloads add some; the oldest go first). */
const MAX_REMEMBERED_SECRETS = 512;

/** Nesting depth scrubDeep walks; anything deeper is replaced (an error body is not that deep). */
const MAX_DEPTH = 8;

/** Credential shapes cut from upstream text whether or not the gateway knows the value. */
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  // OpenAI-style keys, also masked (`sk-abc***xyz`).
  /\b(?:sk|pk|rk|ak)-[\w*.-]*[\w*]/gi,
  // Qianfan (Baidu) keys.
  /\bbce-v3\/[\w/*.-]*[\w*]/gi,
  // Google API keys.
  /AIza[0-9A-Za-z_-]{35}/g,
  /\bbearer\s+[^\s"',]+/gi,
  /(api[\s_-]?key(?:\s+provided)?\s*[:=]\s*)(?!\[redacted\])[^\s"',]*[^\s"',.]/gi,
];

/** One secret with the encoded forms it is looked for in. */
interface CompiledSecret {
  readonly value: string;
  /** Base64 and base64url cores, at each of the three byte offsets. */
  readonly encoded: readonly string[];
  /** Matches any mix of literal and percent-encoded characters of the value. */
  readonly percent: RegExp;
  /** Whether masked fragments are looked for (not for URLs or text with spaces, e.g. an os_env URL). */
  readonly fragments: boolean;
}

/** Cuts a fixed set of secrets out of text. Build once per set; `scrub` is cheap when nothing matches. */
export class SecretScrubber {
  readonly #secrets: readonly CompiledSecret[];

  constructor(secrets: Iterable<string | undefined>) {
    const values = new Set<string>();
    for (const secret of secrets)
      if (secret !== undefined && secret.length >= MIN_SECRET_CHARS) values.add(secret);
    // Longest first, so a secret that contains another is cut whole.
    this.#secrets = [...values].sort((a, b) => b.length - a.length).map(compile);
  }

  /** How many secrets it knows. */
  get size(): number {
    return this.#secrets.length;
  }

  /**
   * `text` with every known secret, in every form above, replaced by REDACTED; with `shapes`, credential-shaped
   * words too (after the whole and encoded secrets, so a masked key is cut as one word, before fragments).
   */
  scrub(text: string, shapes = false): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret.value)) out = out.replaceAll(secret.value, REDACTED);
      if (out.includes("%")) out = out.replace(secret.percent, REDACTED);
      for (const form of secret.encoded) if (out.includes(form)) out = out.replaceAll(form, REDACTED);
    }
    if (shapes) out = cutCredentialShapes(out);
    for (const secret of this.#secrets) if (secret.fragments) out = cutFragments(out, secret.value);
    return out;
  }

  /** A copy of JSON-like data (objects, arrays, strings) with every string scrubbed; keys are scrubbed too. */
  scrubDeep(value: unknown, depth = 0): unknown {
    if (typeof value === "string") return this.scrub(value);
    if (value === null || typeof value !== "object") return value;
    if (depth >= MAX_DEPTH) return REDACTED;
    if (Array.isArray(value)) return value.map((item) => this.scrubDeep(item, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[this.scrub(key)] = this.scrubDeep(item, depth + 1);
    return copy;
  }
}

let remembered = new Set<string>();
let processScrubber = new SecretScrubber([]);

/** Adds secrets to the ones the whole process cuts (vendor keys when an adapter is built, a config's secrets). */
export function rememberSecrets(secrets: Iterable<string | undefined>): void {
  const added: string[] = [];
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= MIN_SECRET_CHARS && !remembered.has(secret))
      added.push(secret);
  }
  if (added.length === 0) return;
  remembered = new Set([...remembered, ...added].slice(-MAX_REMEMBERED_SECRETS));
  processScrubber = new SecretScrubber(remembered);
}

/** `text` without any secret the process knows (the edges' last line of defence). */
export function scrubSecrets(text: string): string {
  return processScrubber.scrub(text);
}

/** JSON-like data without any secret the process knows. */
export function scrubSecretsDeep(value: unknown): unknown {
  return processScrubber.scrubDeep(value);
}

/**
 * A string an upstream sent (error message, param, code, type): known secrets and `ownKey` (the provider's key,
 * which the process then remembers) cut, and anything shaped like a credential too.
 */
export function scrubUpstreamText(text: string, ownKey?: string): string {
  if (ownKey !== undefined) rememberSecrets([ownKey]);
  return processScrubber.scrub(text, true);
}

/**
 * What a log line's `err` field should hold: pino's own serialization of the error (type, message and stack with
 * their causes, own fields such as param and code), with every known secret cut from every string.
 */
export function scrubErrorForLog(error: unknown): unknown {
  if (!(error instanceof Error)) return processScrubber.scrubDeep(error);
  return processScrubber.scrubDeep({ ...stdSerializers.err(error) });
}

function cutCredentialShapes(text: string): string {
  let out = text;
  for (const shape of CREDENTIAL_SHAPES) {
    out = out.replace(shape, (match, prefix: unknown) =>
      typeof prefix === "string" && match.startsWith(prefix) ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

function compile(value: string): CompiledSecret {
  return {
    value,
    encoded: base64Cores(value).filter((form) => form !== value),
    percent: percentPattern(value),
    fragments: !/\s/.test(value) && !value.includes("://"),
  };
}

/**
 * The part of the base64 (and base64url) encoding of `value` that does not depend on the bytes around it, for
 * each of the three offsets at which it can start inside a longer encoded text.
 */
function base64Cores(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const cores = new Set<string>();
  for (let offset = 0; offset < 3; offset += 1) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    // Character i covers bits [6i, 6i + 6); the value's bits are [8 * offset, 8 * (offset + length)).
    const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    if (core.length < MIN_SECRET_CHARS) continue;
    cores.add(core);
    cores.add(core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return [...cores];
}

/** Each character literally or as its UTF-8 bytes in `%XX` form (hex in either case). */
function percentPattern(value: string): RegExp {
  let source = "";
  for (const char of value) {
    const escaped = [...Buffer.from(char, "utf8")].map((byte) => `%${hexPattern(byte)}`).join("");
    source += `(?:${char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")}|${escaped})`;
  }
  return new RegExp(source, "g");
}

function hexPattern(byte: number): string {
  return [...byte.toString(16).padStart(2, "0")]
    .map((digit) => (/[a-f]/.test(digit) ? `[${digit}${digit.toUpperCase()}]` : digit))
    .join("");
}

/** Cuts leading and trailing fragments of `secret` (masked echoes) out of `text`. */
function cutFragments(text: string, secret: string): string {
  const ranges: [number, number][] = [];
  const head = secret.slice(0, MIN_FRAGMENT_CHARS);
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    let end = at + MIN_FRAGMENT_CHARS;
    while (end < text.length && end - at < secret.length && text[end] === secret[end - at]) end += 1;
    if (isFragment(text, at, end)) ranges.push([at, end]);
  }
  const tail = secret.slice(-MIN_FRAGMENT_CHARS);
  for (let at = text.indexOf(tail); at !== -1; at = text.indexOf(tail, at + 1)) {
    const end = at + MIN_FRAGMENT_CHARS;
    let start = at;
    while (start > 0 && end - start < secret.length && text[start - 1] === secret.at(start - end - 1))
      start -= 1;
    if (isFragment(text, start, end)) ranges.push([start, end]);
  }
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = "";
  let from = 0;
  for (const [start, end] of ranges) {
    if (end <= from) continue;
    out += `${text.slice(from, Math.max(from, start))}${start >= from ? REDACTED : ""}`;
    from = end;
  }
  return out + text.slice(from);
}

function isFragment(text: string, start: number, end: number): boolean {
  return (
    end - start >= LONG_FRAGMENT_CHARS || (!isAlphanumericAt(text, start - 1) && !isAlphanumericAt(text, end))
  );
}

function isAlphanumericAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  // charCodeAt answers NaN outside the string, which none of these comparisons accepts.
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}
