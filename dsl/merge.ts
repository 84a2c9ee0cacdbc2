/**
 * Deep merge of spec fragments (variants, presets, `extends`) and dotted
 * path access (`--set`, grids).
 *
 * Rules: plain objects merge key by key, recursively; arrays, `null` and
 * scalars REPLACE what they override (a list is never merged
 * element-wise: writing a list is the explicit way to replace one); a key
 * whose value is `undefined` leaves the base untouched.
 *
 * @module
 */

/** True for plain (JSON-like) objects, not arrays, null, or class instances. */
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Merges `override` into `base` without mutating either (see the module
 * doc for the rules). Returns a fresh structure sharing no objects with
 * the override's plain objects.
 */
export function deepMerge<T>(base: T, override: unknown): T {
  if (override === undefined) return clone(base);
  if (!isPlainObject(override) || !isPlainObject(base)) {
    return clone(override) as T;
  }
  const out: Record<string, unknown> = clone(base) as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = key in out ? deepMerge(out[key], value) : clone(value);
  }
  return out as T;
}

function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clone(v);
    return out as T;
  }
  return value;
}

/** Splits a dotted path (`variants.hv.model.scans`) into its keys; rejects empty segments. */
export function splitPath(path: string): string[] {
  const keys = path.split(".");
  if (keys.some((k) => k === "")) {
    throw new Error(`invalid field path ${JSON.stringify(path)}`);
  }
  return keys;
}

/**
 * Returns a copy of `obj` with the value at the dotted `path` set to
 * `value`, creating intermediate objects. Throws when a segment crosses a
 * non-object value, naming the path.
 */
export function setPath<T>(obj: T, path: string, value: unknown): T {
  const keys = splitPath(path);
  const out = clone(obj) as unknown;
  if (!isPlainObject(out)) {
    throw new Error(`cannot set ${path}: the root is not an object`);
  }
  let node: Record<string, unknown> = out;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i];
    const next = node[key];
    if (next === undefined || next === null) {
      node[key] = {};
    } else if (!isPlainObject(next)) {
      throw new Error(
        `cannot set ${path}: ${keys.slice(0, i + 1).join(".")} is ${
          JSON.stringify(next)
        }, not an object`,
      );
    }
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = clone(value);
  return out as T;
}

/** Reads the value at a dotted path (`undefined` when any segment is missing). */
export function getPath(obj: unknown, path: string): unknown {
  let node = obj;
  for (const key of splitPath(path)) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}
