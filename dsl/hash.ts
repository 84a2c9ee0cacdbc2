/**
 * Canonical JSON and SHA-256: the stable identity of a resolved job.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every level and no whitespace, so equal
 * values always serialise to the same string. Rejects what JSON cannot
 * represent faithfully (non-finite numbers, functions, bigints, symbols);
 * `undefined` object members are dropped, as in JSON.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, "$");
}

function encode(value: unknown, where: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonicalJson: ${where} is ${value}`);
      }
      return JSON.stringify(value);
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        return `[${
          value.map((v, i) =>
            v === undefined ? "null" : encode(v, `${where}[${i}]`)
          )
            .join(",")
        }]`;
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${
        entries.map(([k, v]) =>
          `${JSON.stringify(k)}:${encode(v, `${where}.${k}`)}`
        )
          .join(",")
      }}`;
    }
    default:
      throw new TypeError(
        `canonicalJson: ${where} is a ${typeof value}, not JSON`,
      );
  }
}

/** SHA-256 of a UTF-8 string, as 64 lowercase hex digits. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** SHA-256 (hex) of a value's canonical JSON. */
export function hashValue(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
