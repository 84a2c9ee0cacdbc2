/**
 * Puts the BLAS kernels ({@link blasBatchMatMul}, {@link blasConv2D} and the
 * conv gradients, plus the row-copy {@link copyGatherV2}, which needs no
 * BLAS but is switched on with them) in TensorFlow.js' kernel registry for
 * the wasm and cpu backends, over whatever is registered there (the
 * backend's own kernel or one from `model/backend/kernels`), which stays the
 * fallback; and takes them out again. `initBackend("wasm" | "cpu")`
 * (model/backend/runtime.ts) enables them
 * when a BLAS library is found unless code already chose with
 * {@link enableBlasKernels} / {@link disableBlasKernels} or `MERBA_BLAS=0`
 * is set (see `auto.ts`).
 *
 * Results with BLAS on differ in the last bits from those with it off
 * (another summation order), so the setting is part of what makes a run
 * reproducible: same seed + backend + BLAS setting (+ thread count) ⇒ the
 * same bits.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// The backend packages register their kernels on import; the BLAS kernels
// must come after them (and after model/backend/kernels' provided ones,
// registered in enableBlasKernels): they keep them as fallbacks.
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-cpu";
import { registerProvidedKernels } from "../kernels/register.ts";
import { type Blas, loadBlas, type LoadBlasOptions } from "./ffi.ts";
import { copyGatherV2 } from "./gather.ts";
import type { KernelConfig } from "../kernels/types.ts";
import {
  blasBatchMatMul,
  blasConv2D,
  blasConv2DBackpropFilter,
  blasConv2DBackpropInput,
  type BlasKernelFunc,
  type BlasKernelOptions,
  DEFAULT_BLAS_KERNEL_OPTIONS,
} from "./kernels.ts";

/** Kernels {@link enableBlasKernels} can provide. */
export type BlasKernelName =
  | "BatchMatMul"
  | "Conv2D"
  | "Conv2DBackpropFilter"
  | "Conv2DBackpropInput"
  | "GatherV2";

/** Every {@link BlasKernelName}. */
export const BLAS_KERNEL_NAMES: readonly BlasKernelName[] = [
  "BatchMatMul",
  "Conv2D",
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "GatherV2",
];

/** Backends the BLAS kernels can serve. */
export type BlasBackendName = "wasm" | "cpu";

/**
 * Kernels {@link enableBlasKernels} provides per backend unless told
 * otherwise. On wasm, Conv2D stays XNNPACK's: its forward conv beat
 * im2col + sgemm at every shape of the models, while the BLAS backprops
 * were as fast or faster (scripts/bench/README). On cpu, whose own kernels
 * are plain JavaScript, all of them.
 */
export const DEFAULT_BLAS_KERNELS: Readonly<
  Record<BlasBackendName, readonly BlasKernelName[]>
> = {
  wasm: [
    "BatchMatMul",
    "Conv2DBackpropFilter",
    "Conv2DBackpropInput",
    "GatherV2",
  ],
  cpu: [...BLAS_KERNEL_NAMES],
};

/** Options of {@link enableBlasKernels}. */
export interface EnableBlasOptions extends LoadBlasOptions {
  /** backends to serve (default both). */
  backends?: BlasBackendName[];
  /** kernels to provide on every backend (default {@link DEFAULT_BLAS_KERNELS}). */
  kernels?: BlasKernelName[];
  /** thresholds (default {@link DEFAULT_BLAS_KERNEL_OPTIONS}). */
  tuning?: Partial<BlasKernelOptions>;
}

/** What {@link enableBlasKernels} set up. */
export interface BlasStatus {
  /** the shared library in use. */
  path: string;
  /** OpenBLAS' build description, or "". */
  config: string;
  /** sgemm threads. */
  threads: number;
  /** backends served. */
  backends: BlasBackendName[];
  /** kernels provided, per backend. */
  kernels: Partial<Record<BlasBackendName, BlasKernelName[]>>;
  /** thresholds in use. */
  tuning: BlasKernelOptions;
}

const FACTORIES: Record<
  BlasKernelName,
  (b: Blas, f: BlasKernelFunc, o: BlasKernelOptions) => BlasKernelFunc
> = {
  BatchMatMul: blasBatchMatMul,
  Conv2D: blasConv2D,
  Conv2DBackpropFilter: blasConv2DBackpropFilter,
  Conv2DBackpropInput: blasConv2DBackpropInput,
  // no BLAS inside: a row-copy kernel switched on with the others
  GatherV2: (_b, f) => copyGatherV2(f),
};

let active:
  | {
    blas: Blas;
    status: BlasStatus;
    replaced: tf.KernelConfig[];
    /** `backend/kernel` → the kernel function registered. */
    funcs: Map<string, tf.KernelFunc>;
  }
  | null = null;

/** Whether code chose a BLAS setting (see {@link blasChosen}). */
let chosen = false;

/**
 * Loads the BLAS library and registers its kernels (replacing an earlier
 * call's). When no library is found nothing is registered.
 *
 * @param options library path, threads, backends, kernels and thresholds.
 * @returns what is now in use, or null when no BLAS library was found.
 * @throws Error naming the field for a bad backend, kernel, threads or
 *   threshold value.
 *
 * @example
 * ```ts ignore
 * const status = enableBlasKernels({ threads: 2 });
 * console.log(status ? `BLAS: ${status.config}` : "no BLAS library found");
 * ```
 */
export function enableBlasKernels(
  options: EnableBlasOptions = {},
): BlasStatus | null {
  const backends = options.backends ?? ["wasm", "cpu"];
  for (const b of backends) {
    if (b !== "wasm" && b !== "cpu") {
      throw new Error(
        `enableBlasKernels: backends: "${b}" is not one of wasm, cpu`,
      );
    }
  }
  for (const k of options.kernels ?? []) {
    if (!BLAS_KERNEL_NAMES.includes(k)) {
      throw new Error(
        `enableBlasKernels: kernels: "${k}" is not one of ${
          BLAS_KERNEL_NAMES.join(", ")
        }`,
      );
    }
  }
  const tuning = { ...DEFAULT_BLAS_KERNEL_OPTIONS, ...options.tuning };
  for (const [field, v] of Object.entries(tuning)) {
    if (!Number.isFinite(v) || v < 0 || (field === "maxColsFloats" && v < 1)) {
      throw new Error(`enableBlasKernels: tuning.${field} is invalid: ${v}`);
    }
  }
  removeBlasKernels();
  const blas = loadBlas(options);
  if (!blas) return null;
  chosen = true;
  registerProvidedKernels();
  const replaced: tf.KernelConfig[] = [];
  const funcs = new Map<string, tf.KernelFunc>();
  const provided: Partial<Record<BlasBackendName, BlasKernelName[]>> = {};
  for (const backendName of backends) {
    const names = [
      ...(options.kernels ?? DEFAULT_BLAS_KERNELS[backendName]),
    ];
    provided[backendName] = names;
    for (const name of names) {
      const existing = tf.getKernel(name, backendName);
      const fallback: BlasKernelFunc =
        (existing?.kernelFunc as BlasKernelFunc | undefined) ?? (() => {
          throw new Error(
            `${name}: the ${backendName} backend has no kernel to fall back on for this call`,
          );
        });
      if (existing) {
        replaced.push(existing);
        tf.unregisterKernel(name, backendName);
      }
      const kernelFunc = FACTORIES[name](
        blas,
        fallback,
        tuning,
      ) as tf.KernelFunc;
      funcs.set(`${backendName}/${name}`, kernelFunc);
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc,
        // keep the replaced kernel's setup so that a backend started later
        // still prepares its fallback
        setupFunc: existing?.setupFunc,
        disposeFunc: existing?.disposeFunc,
      });
    }
  }
  const status: BlasStatus = {
    path: blas.path,
    config: blas.config,
    threads: blas.threads,
    backends: [...backends],
    kernels: provided,
    tuning,
  };
  active = { blas, status, replaced, funcs };
  return { ...status };
}

/**
 * Takes the BLAS kernels out of the registry and puts back the kernels they
 * replaced; a no-op when they are not registered. Counts as a choice:
 * `initBackend` no longer enables them by default afterwards
 * ({@link blasChosen}).
 */
export function disableBlasKernels(): void {
  chosen = true;
  removeBlasKernels();
}

function removeBlasKernels(): void {
  if (!active) return;
  for (const b of active.status.backends) {
    for (const k of active.status.kernels[b] ?? []) {
      if (tf.getKernel(k, b)) tf.unregisterKernel(k, b);
    }
  }
  for (const c of active.replaced) tf.registerKernel(c);
  active.blas.close();
  active = null;
}

/**
 * What the BLAS kernels are using, or null when they are not registered.
 *
 * @returns a copy of the status {@link enableBlasKernels} returned.
 */
export function blasStatus(): BlasStatus | null {
  return active ? { ...active.status } : null;
}

/**
 * Whether a BLAS setting was chosen in this process: {@link enableBlasKernels}
 * succeeded (directly or through `MERBA_BLAS`, including `initBackend`'s
 * default) or {@link disableBlasKernels} was called. `initBackend` applies
 * the `MERBA_BLAS` default only while this is false.
 *
 * @returns true once a setting was chosen.
 */
export function blasChosen(): boolean {
  return chosen;
}

/**
 * Whether the registry's kernel for `kernelName` on `backendName` is the
 * BLAS one {@link enableBlasKernels} registered (false when something was
 * registered over it since, or BLAS is off).
 *
 * @param kernelName e.g. `Conv2DBackpropInput`.
 * @param backendName `wasm` or `cpu`.
 * @returns true when calls of that kernel reach the BLAS kernel.
 */
export function blasKernelRegistered(
  kernelName: string,
  backendName: string,
): boolean {
  const f = active?.funcs.get(`${backendName}/${kernelName}`);
  return f !== undefined &&
    tf.getKernel(kernelName, backendName)?.kernelFunc === f;
}

/**
 * The kernel a registered BLAS kernel replaced and falls back on (for
 * shapes and dtypes it does not take), or undefined when there is none.
 *
 * @param kernelName e.g. `Conv2DBackpropInput`.
 * @param backendName `wasm` or `cpu`.
 * @returns the replaced kernel's config.
 */
export function blasFallbackKernel(
  kernelName: string,
  backendName: string,
): KernelConfig | undefined {
  return active?.replaced.find((c) =>
    c.kernelName === kernelName && c.backendName === backendName
  );
}
