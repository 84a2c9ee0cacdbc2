/**
 * Loading the `tensorflow` backend (`@tensorflow/tfjs-node`, or
 * `@tensorflow/tfjs-node-gpu`: TensorFlow.js ops run by libtensorflow)
 * under Deno, which needs three things the packages do not do themselves:
 *
 * - **node:util**: Deno reports Node 26, whose `node:util` no longer has
 *   the deprecated `isNullOrUndefined` (and may lack `isArray`); tfjs-node
 *   calls them on its first op. {@link restoreNodeUtil} puts them back
 *   before the package is imported (only where they are missing).
 * - **Load order**: loading libtensorflow into a process that already
 *   loaded Vulkan for WebGPU (`navigator.gpu.requestAdapter()` maps
 *   `libvulkan` and Mesa's `libLLVM`) crashes the process with a
 *   segmentation fault. The other order works. {@link loadTfjsNode}
 *   therefore reads `/proc/self/maps` first and refuses with one line when
 *   such a library is mapped ({@link conflictingLibraries}), instead of
 *   crashing; `model/backend/runtime.ts` loads tensorflow before it probes WebGPU.
 * - **The native addon and libtensorflow**: Deno does not run the
 *   packages' install script; `deno task setup:tensorflow`
 *   (scripts/setup_tensorflow.ts) puts `lib/napi-v8/tfjs_binding.node` in
 *   place. {@link tfjsNodeAddon} says where it is expected.
 *
 * Threads and reproducibility: libtensorflow sizes its thread pools once,
 * when the first op runs, from `TF_NUM_INTRAOP_THREADS` and
 * `TF_NUM_INTEROP_THREADS`. {@link loadTfjsNode} sets them (intra-op =
 * `threads`, default 1; inter-op = 1, since TensorFlow.js issues one op at
 * a time) unless the environment already does, so a process has one fixed
 * thread count; a later call asking for another count gets a note. TF's
 * CPU kernels (Eigen, oneDNN) split work by thread count: at a fixed count
 * seeded runs are bit-identical (tested), and results at 1 and 2 threads
 * differ in the last bits, like BLAS threads. `TF_DETERMINISTIC_OPS=1`
 * only changes GPU kernels (and makes some ops throw there); on CPU the
 * fixed thread count is what makes runs repeatable. It is set while the GPU
 * package loads (docs/gpu.md). The threads used are
 * reported, and recorded in each job's `job.json`.
 *
 * @module
 */
import nodeUtil from "node:util";
import { dirname, join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath as fromFileUrl } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { registerScanKernels } from "./ssm/register.ts";
import { registerTensorflowKernels } from "./tensorflow_kernels.ts";

/** The tfjs-node packages, in the order {@link loadTfjsNode} tries them. */
export const TFJS_NODE_PACKAGES: readonly string[] = [
  "@tensorflow/tfjs-node-gpu",
  "@tensorflow/tfjs-node",
];

/**
 * Restores the `node:util` functions tfjs-node calls that Deno's Node 26
 * compatibility layer removed (`isNullOrUndefined`, `isArray`), with their
 * Node semantics. Idempotent; leaves existing functions alone.
 *
 * @returns the names it added.
 */
export function restoreNodeUtil(): string[] {
  const util = nodeUtil as unknown as Record<string, unknown>;
  const added: string[] = [];
  if (typeof util.isNullOrUndefined !== "function") {
    util.isNullOrUndefined = (x: unknown) => x === null || x === undefined;
    added.push("isNullOrUndefined");
  }
  if (typeof util.isArray !== "function") {
    util.isArray = Array.isArray;
    added.push("isArray");
  }
  return added;
}

/**
 * Shared libraries mapped into this process whose presence makes loading
 * libtensorflow crash (Vulkan loaders and drivers, Mesa's LLVM: mapped by
 * a WebGPU adapter request).
 *
 * @param maps the text of `/proc/self/maps` (read when omitted; on systems
 *   without it the answer is empty).
 * @returns the file names of the conflicting libraries, without repeats.
 */
export function conflictingLibraries(maps?: string): string[] {
  let text = maps;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/maps", "utf8");
    } catch {
      return [];
    }
  }
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    const path = line.trim().split(/\s+/)[5];
    if (!path) continue;
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (/^(libvulkan|libLLVM)/.test(base)) found.add(base);
  }
  return [...found].sort();
}

/** This project's root (where `node_modules/` is). */
function projectRoot(): string {
  return join(dirname(fromFileUrl(import.meta.url)), "..", "..");
}

/**
 * Where a tfjs-node package is installed in this project.
 *
 * @param pkg a name from {@link TFJS_NODE_PACKAGES}.
 * @param root the project root (default: this repository's).
 * @returns the package directory (it may not exist).
 */
export function tfjsNodePackageDir(pkg: string, root = projectRoot()): string {
  return join(root, "node_modules", ...pkg.split("/"));
}

/**
 * The N-API build version node-pre-gyp picks for a package here: the
 * highest of its `binary.napi_versions` not above this runtime's
 * `process.versions.napi`.
 *
 * @param napiVersions the package's supported versions.
 * @param runtimeNapi the runtime's N-API version.
 * @returns the version, or null when none fits.
 */
export function napiBuildVersion(
  napiVersions: readonly number[],
  runtimeNapi: number,
): number | null {
  const fit = napiVersions.filter((v) => v <= runtimeNapi);
  return fit.length ? Math.max(...fit) : null;
}

/**
 * Where a tfjs-node package's native addon is (or must be put):
 * `<package>/lib/napi-v<N>/tfjs_binding.node`, as its loader
 * (`node-pre-gyp find`) computes it.
 *
 * @param pkgDir the package directory.
 * @returns the addon's path, or null when the package is not installed.
 */
export function tfjsNodeAddon(pkgDir: string): string | null {
  const pj = join(pkgDir, "package.json");
  if (!existsSync(pj)) return null;
  const json = JSON.parse(readFileSync(pj, "utf8"));
  const napi = napiBuildVersion(
    json.binary?.napi_versions ?? [],
    Number(process.versions.napi ?? 0),
  );
  if (napi === null) return null;
  const modulePath = String(json.binary?.module_path ?? "./lib/napi-v{}")
    .replace(/\{napi_build_version\}/, String(napi));
  return join(pkgDir, modulePath, "tfjs_binding.node");
}

/**
 * The tfjs-node packages installed in this project whose native addon is
 * in place, in {@link TFJS_NODE_PACKAGES} order. Cheap: loads nothing.
 *
 * @returns package names.
 */
export function tfjsNodeCandidates(): string[] {
  return TFJS_NODE_PACKAGES.filter((pkg) => {
    const addon = tfjsNodeAddon(tfjsNodePackageDir(pkg));
    return addon !== null && existsSync(addon);
  });
}

/** What {@link loadTfjsNode} loaded. */
export interface TfjsNodeLoaded {
  /** the package, e.g. `@tensorflow/tfjs-node`. */
  pkg: string;
  /** its version. */
  version: string;
  /** intra-op threads libtensorflow uses in this process. */
  threads: number;
  /** caveats, in words. */
  notes: string[];
}

let loaded: TfjsNodeLoaded | null = null;

/** Positive integer value of an environment variable, or undefined. */
function envThreads(name: string): number | undefined {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `initBackend: ${name}=${JSON.stringify(v)} is not a positive integer`,
    );
  }
  return n;
}

interface NodeBackendLike {
  binding?: { TF_Version?: string };
  isUsingGpuDevice?: boolean;
}

/**
 * libtensorflow's version and whether it runs ops on a GPU, read from the
 * started `tensorflow` backend.
 *
 * @returns null when that backend has not been started.
 */
export function tensorflowBackendDetails(): {
  libtensorflow: string;
  gpu: boolean;
} | null {
  const b = tf.findBackend("tensorflow") as unknown as NodeBackendLike | null;
  if (!b) return null;
  return {
    libtensorflow: String(b.binding?.TF_Version ?? "?"),
    gpu: Boolean(b.isUsingGpuDevice),
  };
}

/**
 * Loads tfjs-node (the GPU package first when both are set up), which
 * registers the `tensorflow` backend, after restoring `node:util` and
 * fixing the thread counts (see the module docs). Once loaded, later calls
 * return the same answer (with a note when another thread count is asked).
 *
 * @param options `threads`: intra-op threads (default:
 *   `TF_NUM_INTRAOP_THREADS` when set, else 1); `packages`: the packages
 *   to try (default {@link tfjsNodeCandidates}).
 * @returns what was loaded.
 * @throws Error (one line) when no package is set up, when WebGPU/Vulkan
 *   was loaded into this process first, or when loading fails.
 */
export async function loadTfjsNode(
  options: { threads?: number; packages?: readonly string[] } = {},
): Promise<TfjsNodeLoaded> {
  if (loaded) {
    const notes = [...loaded.notes];
    if (options.threads !== undefined && options.threads !== loaded.threads) {
      notes.push(
        `threads: ${options.threads} requested, ${loaded.threads} used (libtensorflow's thread pool is sized once per process)`,
      );
    }
    return { ...loaded, notes };
  }
  const candidates = options.packages ?? tfjsNodeCandidates();
  if (candidates.length === 0) {
    throw new Error(
      `initBackend: backend "tensorflow" is not set up: run \`deno task setup:tensorflow\` (it installs libtensorflow and the native addon of ${
        TFJS_NODE_PACKAGES.join(" or ")
      })`,
    );
  }
  const conflicts = conflictingLibraries();
  if (conflicts.length > 0) {
    throw new Error(
      `initBackend: backend "tensorflow" cannot load in this process: WebGPU was started first (${
        conflicts.join(", ")
      } mapped) and libtensorflow then crashes the process; start tensorflow before any WebGPU use, or in a fresh process`,
    );
  }
  const fromEnv = envThreads("TF_NUM_INTRAOP_THREADS");
  const threads = fromEnv ?? options.threads ?? 1;
  const notes: string[] = [];
  if (
    fromEnv !== undefined && options.threads !== undefined &&
    fromEnv !== options.threads
  ) {
    notes.push(
      `threads: ${options.threads} requested, TF_NUM_INTRAOP_THREADS=${fromEnv} used`,
    );
  }
  // set for libtensorflow while it loads (it sizes its pools then), and put
  // back afterwards so that child processes do not inherit them
  const saved = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string) => {
    saved.set(name, Deno.env.get(name));
    Deno.env.set(name, value);
  };
  setEnv("TF_NUM_INTRAOP_THREADS", String(threads));
  setEnv(
    "TF_NUM_INTEROP_THREADS",
    Deno.env.get("TF_NUM_INTEROP_THREADS") ?? "1",
  );
  // libtensorflow's start-up banners go to stderr unless told otherwise;
  // warnings and errors still show
  setEnv("TF_CPP_MIN_LOG_LEVEL", Deno.env.get("TF_CPP_MIN_LOG_LEVEL") ?? "2");
  // oneDNN's custom CPU ops: off unless asked for (with them on,
  // libtensorflow prints a banner on every start, and results depend on the
  // oneDNN build); either way a fixed setting, recorded in the notes
  setEnv("TF_ENABLE_ONEDNN_OPTS", Deno.env.get("TF_ENABLE_ONEDNN_OPTS") ?? "0");
  notes.push(
    `TF_ENABLE_ONEDNN_OPTS=${
      Deno.env.get("TF_ENABLE_ONEDNN_OPTS")
    } (oneDNN custom ops ${
      Deno.env.get("TF_ENABLE_ONEDNN_OPTS") === "0" ? "off" : "on"
    }; results differ in the last bits between the two)`,
  );
  // the GPU build: deterministic cuDNN algorithms and reductions (docs/gpu.md)
  if (candidates.includes("@tensorflow/tfjs-node-gpu")) {
    setEnv(
      "TF_DETERMINISTIC_OPS",
      Deno.env.get("TF_DETERMINISTIC_OPS") ?? "1",
    );
  }
  try {
    return await importTfjsNode(candidates, threads, notes);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

async function importTfjsNode(
  candidates: readonly string[],
  threads: number,
  notes: string[],
): Promise<TfjsNodeLoaded> {
  const added = restoreNodeUtil();
  if (added.length) {
    notes.push(`node:util.${added.join("/")} restored for tfjs-node`);
  }
  const errors: string[] = [];
  for (const pkg of candidates) {
    try {
      const mod = pkg === "@tensorflow/tfjs-node-gpu"
        ? await import("@tensorflow/tfjs-node-gpu")
        : await import("@tensorflow/tfjs-node");
      if (!tf.findBackendFactory("tensorflow")) {
        throw new Error("it did not register a 'tensorflow' backend");
      }
      registerScanKernels();
      registerTensorflowKernels();
      loaded = {
        pkg,
        version: String(
          (mod as { version?: Record<string, string> }).version?.[
            "tfjs-node"
          ] ?? "?",
        ),
        threads,
        notes,
      };
      return { ...loaded, notes: [...notes] };
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(
    `initBackend: backend "tensorflow" could not be loaded (${
      errors.join("; ")
    }); rerun \`deno task setup:tensorflow\``,
  );
}
