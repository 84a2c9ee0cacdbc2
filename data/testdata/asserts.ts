/**
 * Small std-style assertion helpers for the data layer's tests, built on
 * `node:assert` (JSR's `@std/assert` is not reachable from this toolchain).
 *
 * @module
 */
import nodeAssert from "node:assert";

/** Asserts that `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  // node:assert's types take a string message only as a defined string
  nodeAssert.ok(cond, msg as string);
}

/** Deep strict equality (typed arrays compared element-wise). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg as string);
}

/** Deep strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg as string);
}

function checkError(e: unknown, includes?: string): void {
  if (!(e instanceof Error)) throw new Error(`expected an Error, got ${e}`);
  if (includes !== undefined && !e.message.includes(includes)) {
    throw new Error(
      `expected error message to include "${includes}", got: ${e.message}`,
    );
  }
}

/** Asserts that `fn` throws an Error whose message includes `includes`. */
export function assertThrows(fn: () => unknown, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, includes);
    return e as Error;
  }
  throw new Error("expected function to throw");
}

/** Asserts that `fn` rejects with an Error whose message includes `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, includes);
    return e as Error;
  }
  throw new Error("expected promise to reject");
}
