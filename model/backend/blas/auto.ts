/**
 * The BLAS setting from the environment, applied by
 * `initBackend("wasm" | "cpu")` (model/backend/runtime.ts) through
 * {@link applyBlasDefault}:
 *
 * - `MERBA_BLAS` unset or empty (default): {@link enableBlasKernels} for the
 *   wasm and cpu backends when a BLAS library is found; silently
 *   TensorFlow.js' own kernels when none is.
 * - `MERBA_BLAS=0` (`off`, `false`): off.
 * - `MERBA_BLAS=1` (`on`, `true`): required; no BLAS library found is an
 *   error naming the variable.
 * - `MERBA_BLAS_THREADS=n`: sgemm threads (default 1; part of what makes a
 *   run reproducible, see `ffi.ts`).
 *
 * Without `--allow-env` the variables read as unset; without `--allow-ffi`
 * the library cannot be opened, which counts as "not found".
 *
 * @module
 */
import {
  blasChosen,
  type BlasStatus,
  blasStatus,
  disableBlasKernels,
  enableBlasKernels,
} from "./register.ts";

/** Reads an environment variable, or undefined when unset or not permitted. */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The BLAS setting `MERBA_BLAS` / `MERBA_BLAS_THREADS` ask for. */
export interface BlasSetting {
  /** `auto`: use BLAS when found; `on`: required; `off`: never. */
  mode: "auto" | "on" | "off";
  /** sgemm threads. */
  threads: number;
}

/**
 * Parses `MERBA_BLAS` / `MERBA_BLAS_THREADS` (see the module docs).
 *
 * @param env where to read the variables (default: the process environment).
 * @returns the setting asked for.
 * @throws Error naming the variable and value when one is malformed.
 */
export function blasSettingFromEnv(
  env: (name: string) => string | undefined = readEnv,
): BlasSetting {
  const raw = env("MERBA_BLAS");
  const v = raw?.trim().toLowerCase();
  let mode: BlasSetting["mode"];
  if (v === undefined || v === "") mode = "auto";
  else if (v === "0" || v === "off" || v === "false") mode = "off";
  else if (v === "1" || v === "on" || v === "true") mode = "on";
  else {
    throw new Error(
      `MERBA_BLAS must be 1/on/true or 0/off/false (or unset: on when found), got "${raw}"`,
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
  return { mode, threads };
}

/**
 * Applies `MERBA_BLAS` / `MERBA_BLAS_THREADS` (see the module docs): off
 * takes the BLAS kernels out, auto and on (re)register them.
 *
 * @param env where to read the variables (default: the process environment).
 * @returns the BLAS status when enabled, else null.
 * @throws Error naming the variable when one is malformed, or when
 *   `MERBA_BLAS=1` and no BLAS library is found.
 */
export function enableBlasFromEnv(
  env: (name: string) => string | undefined = readEnv,
): BlasStatus | null {
  const setting = blasSettingFromEnv(env);
  if (setting.mode === "off") {
    disableBlasKernels();
    return null;
  }
  const status = enableBlasKernels({ threads: setting.threads });
  if (!status && setting.mode === "on") {
    throw new Error(
      "MERBA_BLAS=1: no BLAS library found (or --allow-ffi missing); install OpenBLAS (Debian: libopenblas0-pthread) or unset MERBA_BLAS to use TensorFlow.js' own kernels",
    );
  }
  return status;
}

/**
 * The default `initBackend` applies: {@link enableBlasFromEnv} unless a
 * setting was already chosen in this process (by code through
 * `enableBlasKernels` / `disableBlasKernels`, or by an earlier call of
 * this), in which case it is kept. While no library has been found it looks
 * again on every call (cheap), so `MERBA_BLAS=1` keeps failing.
 *
 * @param env where to read the variables (default: the process environment).
 * @returns the BLAS status in use, or null when off.
 * @throws Error as {@link enableBlasFromEnv}.
 */
export function applyBlasDefault(
  env: (name: string) => string | undefined = readEnv,
): BlasStatus | null {
  if (blasChosen()) return blasStatus();
  return enableBlasFromEnv(env);
}
