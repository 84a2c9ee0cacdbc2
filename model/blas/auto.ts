/**
 * Opt-in switch for the BLAS kernels from the environment, read once when
 * this module is imported (`model/runtime.ts` imports it):
 *
 * - `MERBA_BLAS` unset, `0`, `off` or `false`: nothing changes (default).
 * - `MERBA_BLAS=1` (`on`, `true`): {@link enableBlasKernels} for the wasm and
 *   cpu backends; when no BLAS library is installed a one-line warning goes
 *   to stderr and TensorFlow.js' own kernels stay.
 * - `MERBA_BLAS_THREADS=n`: sgemm threads (default 1; part of what makes a
 *   run reproducible, see `ffi.ts`).
 *
 * Without `--allow-env` the variables read as unset; without `--allow-ffi`
 * the library cannot be opened, which counts as "not installed".
 *
 * @module
 */
import { type BlasStatus, enableBlasKernels } from "./register.ts";

/** Reads an environment variable, or undefined when unset or not permitted. */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Applies `MERBA_BLAS` / `MERBA_BLAS_THREADS` (see the module docs).
 *
 * @param env where to read the variables (default: the process environment).
 * @returns the BLAS status when enabled, else null.
 * @throws Error naming the variable and value when one is malformed.
 */
export function enableBlasFromEnv(
  env: (name: string) => string | undefined = readEnv,
): BlasStatus | null {
  const raw = env("MERBA_BLAS");
  const v = raw?.trim().toLowerCase();
  if (
    v === undefined || v === "" || v === "0" || v === "off" || v === "false"
  ) {
    return null;
  }
  if (v !== "1" && v !== "on" && v !== "true") {
    throw new Error(
      `MERBA_BLAS must be 1/on/true or 0/off/false, got "${raw}"`,
    );
  }
  const rawThreads = env("MERBA_BLAS_THREADS");
  let threads = 1;
  if (rawThreads !== undefined && rawThreads.trim() !== "") {
    threads = Number(rawThreads);
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(
        `MERBA_BLAS_THREADS must be a positive integer, got "${rawThreads}"`,
      );
    }
  }
  const status = enableBlasKernels({ threads });
  if (!status) {
    console.warn(
      "MERBA_BLAS=1: no BLAS library found (or --allow-ffi missing); using TensorFlow.js' own kernels",
    );
  }
  return status;
}

enableBlasFromEnv();
