/**
 * Baidu AI Cloud's request signature (`bce-auth-v1`), with which an IAM Access Key / Secret Key pair signs a
 * call: here only the one that mints a Qianfan bearer token (./iam-token.ts).
 * The algorithm, step by step: docs/wire-formats.md#qianfan-access-key-and-secret-key.
 * @see https://cloud.baidu.com/doc/Reference/s/njwvz1yfu
 */
import { createHmac } from "node:crypto";

/** An IAM key pair. */
export interface BceCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The parts of a request the signature covers. */
export interface BceSignedRequest {
  readonly method: string;
  /** The path, not yet encoded (`/v1/BCE-BEARER/token`). */
  readonly path: string;
  /** Query parameters, not yet encoded; an empty value is signed as `name=`. */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers by name (any case); which of them are signed is decided here. */
  readonly headers: Readonly<Record<string, string>>;
  /** When the signature starts to be valid. */
  readonly timestamp: Date;
  /** How long it stays valid, in seconds. */
  readonly expirationSeconds: number;
}

/** Headers signed when present, besides every `x-bce-*` header (Baidu's default list). */
const SIGNED_HEADER_NAMES: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "content-type",
  "content-md5",
]);

/** The value of the `Authorization` header for `request`. */
export function bceAuthorization(credentials: BceCredentials, request: BceSignedRequest): string {
  const prefix = `bce-auth-v1/${credentials.accessKeyId}/${bceTimestamp(request.timestamp)}/${request.expirationSeconds}`;
  const signingKey = hmacHex(credentials.secretAccessKey, prefix);
  const { lines, names } = canonicalHeaders(request.headers);
  const signature = hmacHex(signingKey, canonicalRequest(request, lines));
  return `${prefix}/${names.join(";")}/${signature}`;
}

/** `METHOD\nCanonicalURI\nCanonicalQueryString\nCanonicalHeaders`, the text that is signed. */
export function canonicalRequest(request: BceSignedRequest, headerLines: readonly string[]): string {
  return [
    request.method.toUpperCase(),
    uriEncode(request.path, true),
    canonicalQueryString(request.query),
    headerLines.join("\n"),
  ].join("\n");
}

/** UTC to the second, as `2014-06-13T05:57:36Z`. */
export function bceTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * RFC 3986 percent-encoding: every byte but the unreserved characters (letters, digits, `-._~`) as `%XX` in
 * upper case; `/` kept only in a path.
 */
export function uriEncode(text: string, keepSlash = false): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, keepSlash ? "/" : "%2F");
}

function canonicalQueryString(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .filter(([name]) => name.toLowerCase() !== "authorization")
    .map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`)
    .sort()
    .join("&");
}

/** The signed headers as sorted `name:value` lines (both encoded, value trimmed), and their names in order. */
function canonicalHeaders(headers: Readonly<Record<string, string>>): { lines: string[]; names: string[] } {
  const lines: string[] = [];
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const name = rawName.trim().toLowerCase();
    const value = rawValue.trim();
    if (value === "" || !(SIGNED_HEADER_NAMES.has(name) || name.startsWith("x-bce-"))) continue;
    lines.push(`${uriEncode(name)}:${uriEncode(value)}`);
  }
  lines.sort();
  return { lines, names: lines.map((line) => line.slice(0, line.indexOf(":"))) };
}

function hmacHex(key: string, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex");
}
