/**
 * Defensive readers for values the client or the edge may leave out or fill
 * with anything: `request.cf` (partly untyped, empty in local dev) and the
 * parsed JSON body. A missing or malformed field reads as null, never throws.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One property, or undefined; a throwing getter (possible on a hand-built cf object) reads as missing. */
export function field(record: Record<string, unknown> | undefined, key: string): unknown {
  if (record === undefined) return undefined;
  try {
    return record[key];
  } catch {
    return undefined;
  }
}

/** A trimmed non-empty string of at most `maxLength` code units, else null. */
export function readString(record: Record<string, unknown> | undefined, key: string, maxLength = 128): string | null {
  const value = field(record, key);
  if (typeof value !== "string") return null;
  const trimmed = value.length > maxLength * 2 ? value.slice(0, maxLength * 2).trim() : value.trim();
  return trimmed === "" ? null : trimmed.slice(0, maxLength);
}

/** A finite number, also from a numeric string (cf sends latitude/longitude as strings). */
export function readNumber(record: Record<string, unknown> | undefined, key: string): number | null {
  const value = field(record, key);
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && value.length > 0 && value.length <= 32) {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

/** A finite non-negative integer, else null. */
export function readCount(record: Record<string, unknown> | undefined, key: string): number | null {
  const value = readNumber(record, key);
  return value !== null && Number.isInteger(value) && value >= 0 ? value : null;
}

/**
 * Printable ASCII only, capped: client-chosen strings end up in keys, logs and
 * a header to the origin, where control characters or megabytes do harm.
 */
export function asciiToken(value: string | null, maxLength = 64): string | null {
  if (value === null) return null;
  const cleaned = value.slice(0, maxLength * 2).replace(/[^\x20-\x7e]/g, "").trim().slice(0, maxLength);
  return cleaned === "" ? null : cleaned;
}
