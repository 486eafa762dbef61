/**
 * The `grpc-timeout` request header: at most 8 digits and a unit (Hours, Minutes, Seconds, milliseconds,
 * microseconds, nanoseconds), e.g. `100m`, `5S`.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Timeout)
 */

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
/** Node's timers hold at most 2^31-1 ms; longer deadlines are as good as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The deadline in milliseconds (at least 1), or undefined when the header is malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = TIMEOUT.exec(value);
  if (match === null) return undefined;
  const ms = Number(match[1]) * (MS_PER_UNIT[match[2] ?? ""] ?? Number.NaN);
  return Number.isFinite(ms) ? Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(ms))) : undefined;
}
