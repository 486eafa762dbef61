/**
 * Time bounds of spend-log queries. The log stores `Date.toISOString()` text and compares it as text (the same on
 * SQLite and PostgreSQL), so every bound a caller gives is first written in that same form.
 */
const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * An ISO date or date-time as stored text. A bare date is the start of that day (UTC), except as the exclusive
 * end of a range (`to`), where it means the end of that day. Throws RangeError on anything else.
 */
export function timeBound(value: string, side: "from" | "to"): string {
  const time = Date.parse(BARE_DATE.test(value) ? `${value}T00:00:00.000Z` : value);
  if (Number.isNaN(time)) throw new RangeError(`not an ISO 8601 date or date-time: '${value}'`);
  return new Date(BARE_DATE.test(value) && side === "to" ? time + DAY_MS : time).toISOString();
}
