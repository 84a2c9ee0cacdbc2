/**
 * Compute runtime selection for TensorFlow.js under Deno: starts one of the
 * backends, reports what it got, and registers the kernels the models need
 * ({@link registerKernels}: the fused selective scan, and what some backend
 * lacks).
 *
 * Backends:
 * - `wasm` (default on CPU): XNNPACK with WebAssembly SIMD; the `.wasm`
 *   binaries are loaded from the installed npm package, never a CDN.
 *   **Single-threaded under Deno.** tfjs' `WASM_HAS_MULTITHREAD_SUPPORT`
 *   check returns false whenever `env().get("IS_NODE")` is true, and Deno
 *   exposes `process.versions.node`, so tfjs loads the non-threaded SIMD
 *   build; forcing the threaded build does not give parallel threads
 *   without patched copies of tfjs' emscripten glue, which this project
 *   does not ship (details: scripts/bench/README). `threads` > 1 is
 *   therefore recorded as a note and 1 is used.
 * - `cpu`: TensorFlow.js' plain JavaScript kernels (correct, slow).
 *
 * BLAS (wasm and cpu): {@link initBackend} also puts `model/backend/blas`'
 * kernels (OpenBLAS `cblas_sgemm` through Deno's FFI for BatchMatMul and
 * the conv gradients, plus a row-copy GatherV2; on cpu the forward Conv2D
 * too) in front of the backend's own when a BLAS library is found, with 1
 * sgemm thread (faster training steps: scripts/bench/README). The
 * environment decides, read at each call until a setting is chosen:
 * - `MERBA_BLAS` unset: on when found, else silently TensorFlow.js' kernels;
 * - `MERBA_BLAS=0` (`off`, `false`): off;
 * - `MERBA_BLAS=1` (`on`, `true`): required, an error when none is found;
 * - `MERBA_BLAS_THREADS=n`: sgemm threads (default 1).
 * Code that called `enableBlasKernels` / `disableBlasKernels` first keeps
 * its choice. Results with BLAS on and off differ in the last bits (another
 * summation order); at a fixed thread count runs are bit-identical, so the
 * setting is reported in {@link BackendInfo}'s `blas` (and the DSL records
 * it in each job's `job.json`). Needs `--allow-ffi` (without it: not found).
 * - `webgpu`: Deno's `navigator.gpu` (without a GPU: Debian's software
 *   Vulkan, mesa lavapipe); the backend package is loaded when this backend
 *   is asked for. `dataSync()` fails there (use `await data()`), and
 *   buffers over the device's `maxStorageBufferBindingSize` (128 MiB on
 *   lavapipe) give silently wrong results, so {@link initBackend} installs a
 *   guard that throws instead when a tensor that large is created.
 * - `tensorflow`: libtensorflow through `@tensorflow/tfjs-node-gpu`, else
 *   `@tensorflow/tfjs-node`, once `deno task setup:tensorflow` has put its
 *   native addon in place (nothing is fetched at run time). Loading it under
 *   Deno needs a `node:util` shim and must come before any WebGPU use in
 *   the process (libtensorflow crashes a process that loaded Vulkan first;
 *   {@link initBackend} refuses instead): see `model/backend/tensorflow.ts`,
 *   which also fixes its thread count (1 unless `threads` or
 *   `TF_NUM_INTRAOP_THREADS` says otherwise) so that seeded runs are
 *   bit-identical. The fused selective scan runs on it as on cpu (typed
 *   arrays copied out of and back into libtensorflow).
 *
 * Default backend ({@link chooseBackend}): the first available kernel set
 * of a fixed ranking measured with `deno task bench:cpu`
 * ({@link DEFAULT_RANKING}: tensorflow > wasm+openblas > wasm > cpu), never
 * by timing at start-up, so that a machine always makes the same choice.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { existsSync } from "node:fs";
import { registerProvidedKernels } from "./kernels/register.ts";
import { registerKernels } from "./register.ts";
import { applyBlasDefault, blasSettingFromEnv } from "./blas/auto.ts";
import { loadBlas } from "./blas/ffi.ts";
import {
  loadTfjsNode,
  tensorflowBackendDetails,
  tfjsNodeCandidates,
} from "./tensorflow.ts";
import {
  blasChosen,
  blasKernelRegistered,
  type BlasStatus,
} from "./blas/register.ts";

export { kernelSetLabel, type KernelSetSource } from "./kernel_set.ts";
export { registerKernels } from "./register.ts";

/** Backends {@link initBackend} can start. */
export type BackendName = "wasm" | "cpu" | "webgpu" | "tensorflow";

/** Every backend name, in order of preference on a CPU-only machine. */
export const BACKEND_NAMES: readonly BackendName[] = [
  "wasm",
  "cpu",
  "webgpu",
  "tensorflow",
];

/** What {@link initBackend} started. */
export interface BackendInfo {
  /** the active TensorFlow.js backend. */
  name: BackendName;
  /** threads doing the math (1 when single-threaded). */
  threads: number;
  /** whether WebAssembly SIMD is in use (wasm only; false elsewhere). */
  simd: boolean;
  /** versions of Deno, V8 and the TensorFlow.js packages involved. */
  versions: Record<string, string>;
  /** caveats of this backend on this machine, in words. */
  notes: string[];
  /**
   * the BLAS kernels serving this backend (see the module docs): the
   * shared library whose `cblas_sgemm` is used, OpenBLAS' build
   * description (or ""), sgemm threads and the kernels provided on this
   * backend; null when it runs TensorFlow.js' own kernels (always on
   * webgpu and tensorflow).
   */
  blas: {
    path: string;
    config: string;
    threads: number;
    kernels: string[];
  } | null;
}

/** Applies the BLAS default and describes it for `backend`. */
function blasFor(
  backend: "wasm" | "cpu",
  notes: string[],
): BackendInfo["blas"] {
  const status: BlasStatus | null = applyBlasDefault();
  const kernels = (status?.kernels[backend] ?? []).filter((k) =>
    blasKernelRegistered(k, backend)
  );
  if (!status || kernels.length === 0) {
    notes.push(
      blasChosen()
        ? `BLAS off on ${backend} (MERBA_BLAS=0, disableBlasKernels(), or enableBlasKernels() without this backend): TensorFlow.js' own kernels`
        : "no BLAS library found (or --allow-ffi missing): TensorFlow.js' own kernels; OpenBLAS (Debian: libopenblas0-pthread) makes training steps ~1.8x faster",
    );
    return null;
  }
  notes.push(
    `BLAS: ${
      kernels.join(", ")
    } use cblas_sgemm of ${status.path} with ${status.threads} thread${
      status.threads === 1 ? "" : "s"
    } (results differ from MERBA_BLAS=0 in the last bits; bit-identical run to run)`,
  );
  return {
    path: status.path,
    config: status.config,
    threads: status.threads,
    kernels,
  };
}

let wasmPathsSet = false;

/** Directory of the installed `@tensorflow/tfjs-backend-wasm` package's dist. */
function wasmDistDir(): string {
  return dirname(
    fromFileUrl(import.meta.resolve("@tensorflow/tfjs-backend-wasm")),
  );
}

/**
 * Starts a backend and makes it the active one, after registering the
 * project's kernels ({@link registerKernels}). Calling it again for the
 * active backend is cheap; switching re-activates the already-started one.
 *
 * @param name the backend to start.
 * @param options `threads`: wanted thread count. Only the `tensorflow`
 *   backend is multi-threaded; on wasm and cpu a value > 1 is recorded in
 *   `notes` and 1 is used (see the module docs for why wasm is
 *   single-threaded under Deno).
 * @returns what was started, with its BLAS setting (`blas`, see the
 *   module docs).
 * @throws Error naming the backend when it cannot start (webgpu without an
 *   adapter, tensorflow not installed, a bad `threads` value); Error naming
 *   `MERBA_BLAS` / `MERBA_BLAS_THREADS` on wasm and cpu when one is
 *   malformed or `MERBA_BLAS=1` finds no BLAS library.
 *
 * @example
 * ```ts ignore
 * const info = await initBackend("wasm");
 * console.log(info.name, info.simd, info.blas?.threads, info.notes);
 * ```
 */
export async function initBackend(
  name: BackendName,
  options: { threads?: number } = {},
): Promise<BackendInfo> {
  const threads = options.threads;
  if (
    threads !== undefined && (!Number.isInteger(threads) || threads < 1)
  ) {
    throw new Error(
      `initBackend: threads must be a positive integer, got ${threads}`,
    );
  }
  if (!BACKEND_NAMES.includes(name)) {
    throw new Error(
      `initBackend: unknown backend "${name}" (expected one of ${
        BACKEND_NAMES.join(", ")
      })`,
    );
  }
  registerKernels();
  const versions: Record<string, string> = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    tfjs: tf.version.tfjs,
  };
  const notes: string[] = [];
  switch (name) {
    case "wasm": {
      if (!wasmPathsSet) {
        tfwasm.setWasmPaths(wasmDistDir() + "/");
        wasmPathsSet = true;
      }
      await activate("wasm");
      versions["tfjs-backend-wasm"] = tfwasm.version_wasm;
      const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
      if (!simd) notes.push("WebAssembly SIMD is unavailable: slow path");
      notes.push(
        "single-threaded: tfjs' threaded wasm build does not run under Deno (see model/backend/runtime.ts)",
      );
      if (threads !== undefined && threads > 1) {
        notes.push(`threads: ${threads} requested, 1 used`);
      }
      registerProvidedKernels();
      const blas = blasFor("wasm", notes);
      return { name, threads: 1, simd, versions, notes, blas };
    }
    case "cpu": {
      await activate("cpu");
      // Silence tfjs' one-time "install tfjs-node" banner (it thinks Deno is Node).
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      if (threads !== undefined && threads > 1) {
        notes.push(`threads: ${threads} requested, 1 used`);
      }
      const blas = blasFor("cpu", notes);
      return { name, threads: 1, simd: false, versions, notes, blas };
    }
    case "webgpu": {
      if (!(await webgpuAvailable())) {
        throw new Error(
          'initBackend: backend "webgpu" cannot start: navigator.gpu has no adapter (install a Vulkan driver, e.g. Debian\'s mesa-vulkan-drivers)',
        );
      }
      // registers the webgpu backend (not loaded before it is asked for)
      await import("@tensorflow/tfjs-backend-webgpu");
      await activate("webgpu");
      // tfjs-webgpu picks a split-K matmul (float atomics: the order of the
      // additions varies run to run) for long, narrow products such as the
      // weight gradients of small linears. Program type 3 (the packed
      // matmul) has a fixed reduction order, so seeded runs stay
      // bit-identical on one device and driver (see docs/gpu.md).
      tf.env().set("WEBGPU_MATMUL_PROGRAM_TYPE", 3);
      notes.push(
        "matmuls use the packed program (WEBGPU_MATMUL_PROGRAM_TYPE=3): no split-K atomics, reproducible",
      );
      versions["tfjs-backend-webgpu"] = packageVersion(
        import.meta.resolve("@tensorflow/tfjs-backend-webgpu"),
      );
      const backend = tf.backend() as unknown as WebGpuLike;
      const limit = backend.device.limits.maxStorageBufferBindingSize;
      guardWebgpuTensorBytes(limit);
      const info = backend.adapterInfo as { description?: string } | undefined;
      if (info?.description) notes.push(`adapter: ${info.description}`);
      notes.push(
        "dataSync()/arraySync() fail on this backend: use await data()/array()",
        `tensors over ${limit} bytes (maxStorageBufferBindingSize) give wrong results: creating one throws`,
      );
      return { name, threads: 1, simd: false, versions, notes, blas: null };
    }
    case "tensorflow": {
      const loaded = await loadTfjsNode({ threads });
      await activate("tensorflow");
      versions[loaded.pkg] = loaded.version;
      const details = tensorflowBackendDetails();
      versions.libtensorflow = details?.libtensorflow ?? "?";
      notes.push(
        `loaded ${loaded.pkg} ${loaded.version} with libtensorflow ${versions.libtensorflow} on ${
          details?.gpu ? "a GPU" : "the CPU"
        }, ${loaded.threads} intra-op thread${
          loaded.threads === 1 ? "" : "s"
        } (bit-identical run to run at a fixed thread count)`,
        ...loaded.notes,
      );
      return {
        name,
        threads: loaded.threads,
        simd: false,
        versions,
        notes,
        blas: null,
      };
    }
  }
}

/**
 * Backends that can start here, without activating them. tensorflow is
 * listed when its package is set up and loads (it is loaded, first, since
 * it cannot load after WebGPU was probed); webgpu when an adapter exists.
 *
 * @returns the available backend names, in {@link BACKEND_NAMES} order.
 */
export async function availableBackends(): Promise<BackendName[]> {
  const tensorflow = (await tensorflowLoadable()) === null;
  const out: BackendName[] = ["wasm", "cpu"];
  if (await webgpuAvailable()) out.push("webgpu");
  if (tensorflow) out.push("tensorflow");
  return out;
}

/**
 * Loads tfjs-node when it is set up (see {@link initBackend}).
 *
 * @returns null when the tensorflow backend can start, else why not.
 */
async function tensorflowLoadable(): Promise<string | null> {
  if (tfjsNodeCandidates().length === 0) {
    return "not set up (deno task setup:tensorflow)";
  }
  try {
    await loadTfjsNode();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The kernel sets in the order {@link chooseBackend} takes the first
 * available: fastest first, by the MERba-small training step at 1 thread
 * measured with `deno task bench:cpu` (numbers and their date:
 * scripts/bench/README). webgpu is not in it (on a software Vulkan adapter
 * it is far slower than the CPU backends), so it runs when asked for
 * (`--backend webgpu`).
 */
export const DEFAULT_RANKING: readonly string[] = [
  "tensorflow",
  "wasm+openblas",
  "wasm",
  "cpu",
];

/** What {@link chooseBackend} picked, and why. */
export interface BackendChoice {
  /** the backend to use. */
  name: BackendName;
  /** one line saying why (printed at start). */
  reason: string;
}

/** Null when the kernel set `label` can run here, else why not. */
async function kernelSetUnavailable(label: string): Promise<string | null> {
  if (label === "wasm+openblas") {
    if (blasSettingFromEnv().mode === "off") return "MERBA_BLAS=0";
    let found = false;
    try {
      found = loadBlas() !== null;
    } catch {
      found = false;
    }
    return found ? null : "no OpenBLAS library found";
  }
  if (label === "tensorflow") {
    const why = await tensorflowLoadable();
    return why?.replace(/^initBackend: backend "tensorflow" /, "") ?? null;
  }
  return null;
}

/**
 * The default backend: the first kernel set of {@link DEFAULT_RANKING} that
 * can run here (tensorflow is loaded only when it is reached). A fixed
 * ranking rather than a timing at start-up, so that a machine makes the
 * same choice on every run (it changes only when what is installed
 * changes, e.g. OpenBLAS or `deno task setup:tensorflow`); each job records
 * the backend it ran on.
 *
 * @returns the choice and its reason.
 */
export async function chooseBackend(): Promise<BackendChoice> {
  const skipped: string[] = [];
  for (const label of DEFAULT_RANKING) {
    const why = await kernelSetUnavailable(label);
    if (why !== null) {
      skipped.push(`${label} unavailable: ${why}`);
      continue;
    }
    return {
      name: label.split("+")[0] as BackendName,
      reason: `default: ${label}, the first available of the ranking ${
        DEFAULT_RANKING.join(" > ")
      } measured with deno task bench:cpu${
        skipped.length ? ` (${skipped.join("; ")})` : ""
      }; --backend chooses another`,
    };
  }
  return { name: "cpu", reason: "default: nothing else available" };
}

/**
 * Whether `navigator.gpu` exists and yields an adapter (a software Vulkan
 * adapter counts).
 *
 * @returns true when the webgpu backend can start.
 */
export async function webgpuAvailable(): Promise<boolean> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } })
    .gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

interface WebGpuLike {
  device: { limits: { maxStorageBufferBindingSize: number } };
  adapterInfo?: unknown;
  write(values: unknown, shape: number[], dtype: tf.DataType): tf.DataId;
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: unknown,
  ): tf.TensorInfo;
}

const guarded = new WeakMap<object, () => void>();

function bytesOf(shape: number[], dtype: tf.DataType): number {
  const n = shape.reduce((a, b) => a * b, 1);
  return dtype === "complex64" ? 8 * n : 4 * n;
}

/**
 * Makes the active webgpu backend throw when a tensor over `maxBytes` is
 * created (uploaded or produced by a kernel), instead of computing wrong
 * values silently. Installing it again replaces the limit.
 *
 * @param maxBytes the largest allowed tensor size in bytes.
 * @returns a function that removes the guard.
 * @throws Error when the active backend is not webgpu.
 */
export function guardWebgpuTensorBytes(maxBytes: number): () => void {
  if (tf.getBackend() !== "webgpu") {
    throw new Error(
      `guardWebgpuTensorBytes: the active backend is "${tf.getBackend()}", not webgpu`,
    );
  }
  const backend = tf.backend() as unknown as WebGpuLike;
  guarded.get(backend)?.();
  const write = backend.write, make = backend.makeTensorInfo;
  const check = (shape: number[], dtype: tf.DataType) => {
    const bytes = bytesOf(shape, dtype);
    if (bytes > maxBytes) {
      throw new Error(
        `webgpu: a ${dtype} tensor of shape [${shape}] needs ${bytes} bytes, over this device's ${maxBytes}-byte storage binding limit (its results would be silently wrong); use a smaller batch or the wasm backend`,
      );
    }
  };
  backend.write = function (values, shape, dtype) {
    check(shape, dtype);
    return write.call(this, values, shape, dtype);
  };
  backend.makeTensorInfo = function (shape, dtype, values) {
    check(shape, dtype);
    return make.call(this, shape, dtype, values);
  };
  const remove = () => {
    backend.write = write;
    backend.makeTensorInfo = make;
    guarded.delete(backend);
  };
  guarded.set(backend, remove);
  return remove;
}

/** The `version` of the package.json above a resolved module URL, or "?". */
function packageVersion(moduleUrl: string): string {
  try {
    let dir = dirname(fromFileUrl(moduleUrl));
    for (let i = 0; i < 4; i++) {
      const p = join(dir, "package.json");
      if (existsSync(p)) {
        return String(JSON.parse(Deno.readTextFileSync(p)).version);
      }
      dir = dirname(dir);
    }
  } catch {
    // fall through
  }
  return "?";
}

async function activate(name: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new Error(
      `initBackend: backend "${name}" failed to start: ${(e as Error).message}`,
    );
  }
  if (!ok) throw new Error(`initBackend: backend "${name}" failed to start`);
}
