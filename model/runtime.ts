/**
 * Compute runtime selection for TensorFlow.js under Deno.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import "./kernels/mod.ts";

/** Backends {@link initBackend} can start. */
export type BackendName = "wasm" | "cpu" | "webgpu" | "tensorflow";

/** What {@link initBackend} started. */
export interface BackendInfo {
  /** the active TensorFlow.js backend. */
  name: BackendName;
  /** worker threads doing the math (1 when single-threaded). */
  threads: number;
  /** whether WebAssembly SIMD is used (wasm only; false elsewhere). */
  simd: boolean;
  /** versions of the relevant packages and of Deno. */
  versions: Record<string, string>;
  /** caveats of this backend on this machine. */
  notes: string[];
}

let wasmPathsSet = false;

/**
 * Starts a backend and makes it the active one.
 *
 * @param name the backend to start.
 * @param options `threads`: wanted thread count (see the wasm notes).
 * @returns what was started.
 */
export async function initBackend(
  name: BackendName,
  options: { threads?: number } = {},
): Promise<BackendInfo> {
  void options;
  const versions: Record<string, string> = {
    tfjs: tf.version.tfjs,
    deno: Deno.version.deno,
  };
  if (name === "wasm") {
    if (!wasmPathsSet) {
      const dir = dirname(
        fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm")),
      );
      setWasmPaths(dir + "/");
      wasmPathsSet = true;
    }
    await setOrThrow("wasm");
    return {
      name,
      threads: 1,
      simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean,
      versions,
      notes: [],
    };
  }
  await setOrThrow(name);
  return { name, threads: 1, simd: false, versions, notes: [] };
}

/**
 * Whether `navigator.gpu` exists and yields an adapter (software Vulkan
 * counts).
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

async function setOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`initBackend: backend "${name}" failed to start`);
  await tf.ready();
}
