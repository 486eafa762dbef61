/**
 * OpenAI's `encoding_format: "base64"` form of a vector: its values as little-endian float32, base64-encoded. The
 * official SDKs ask for it by default and decode it as such, so anything else (floats, float64) reaches them as a
 * vector of the wrong length or wrong values, silently. Written with explicit little-endian calls, not a
 * Float32Array view, so the byte order does not depend on the machine.
 */

/** The vector as base64 of its little-endian float32 values. */
export function toFloat32Base64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatLE(vector[index] ?? 0, index * 4);
  return bytes.toString("base64");
}

/** The values of a base64 little-endian float32 vector; undefined when its length is not a whole number of floats. */
export function fromFloat32Base64(text: string): number[] | undefined {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length % 4 !== 0) return undefined;
  const vector = new Array<number>(bytes.length / 4);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}
