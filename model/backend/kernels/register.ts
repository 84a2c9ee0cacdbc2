/**
 * Registration of the provided kernels for the wasm backend (the only
 * backend here with gaps): {@link registerProvidedKernels}, idempotent.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig } from "./types.ts";
// The wasm package registers its own kernels on import; ours must come after.
import "@tensorflow/tfjs-backend-wasm";
import {
  conv2DBackpropFilterViaConv,
  conv2DBackpropInputViaConv,
  depthwiseBackpropInputViaConv,
} from "./conv_backprop.ts";
import {
  depthwiseBackpropFilterWasm,
  maxPoolGradWasm,
  unsortedSegmentSumWasm,
} from "./wasm_js_kernels.ts";

/** One kernel this module put in TensorFlow.js' registry. */
export interface ProvidedKernel {
  /** TensorFlow.js kernel name, e.g. `Conv2DBackpropFilter`. */
  kernelName: string;
  /** backend it was registered for. */
  backendName: string;
  /** true when it replaced the backend's own (wrong or slow) kernel. */
  replaced: boolean;
  /** why it is provided. */
  reason: string;
}

interface Provision {
  kernelName: string;
  kernelFunc: tf.KernelFunc;
  /** `missing`: only when absent; `replace`: also over the native kernel. */
  mode: "missing" | "replace";
  reason: string;
}

const WASM: Provision[] = [
  {
    kernelName: "Conv2DBackpropFilter",
    kernelFunc: conv2DBackpropFilterViaConv as tf.KernelFunc,
    mode: "missing",
    reason: "missing on wasm (conv2d weight gradient)",
  },
  {
    kernelName: "Conv2DBackpropInput",
    kernelFunc: conv2DBackpropInputViaConv as tf.KernelFunc,
    mode: "replace",
    reason:
      "wasm's own is a naive loop; the sub-pixel conv form runs on XNNPACK, 3–11× faster (scripts/bench/kernels_bench.ts)",
  },
  {
    kernelName: "DepthwiseConv2dNativeBackpropFilter",
    kernelFunc: depthwiseBackpropFilterWasm as tf.KernelFunc,
    mode: "missing",
    reason:
      "missing on wasm (depthwise conv weight gradient); the heap loop beat the depthwise-conv form 2–5× (scripts/bench/kernels_bench.ts)",
  },
  {
    kernelName: "DepthwiseConv2dNativeBackpropInput",
    kernelFunc: depthwiseBackpropInputViaConv as tf.KernelFunc,
    mode: "missing",
    reason: "missing on wasm (depthwise conv input gradient)",
  },
  {
    kernelName: "UnsortedSegmentSum",
    kernelFunc: unsortedSegmentSumWasm as tf.KernelFunc,
    mode: "missing",
    reason: "missing on wasm (gather's gradient)",
  },
  {
    kernelName: "MaxPoolGrad",
    kernelFunc: maxPoolGradWasm as tf.KernelFunc,
    mode: "replace",
    reason: "wasm's own is wrong when batch > 1 or channels > 1",
  },
];

const registered: ProvidedKernel[] = [];
const nativeConfigs = new Map<string, tf.KernelConfig>();
const ours = new Set<tf.KernelFunc>(WASM.map((p) => p.kernelFunc));
/** `backend/kernel` keys of the provided kernels installed at least once. */
const installed = new Set<string>();

/**
 * The backend's own kernel config that a provided kernel replaced (for
 * benchmarks and tests comparing the two), or undefined.
 *
 * @param kernelName e.g. `Conv2DBackpropInput`.
 * @param backendName e.g. `wasm`.
 * @returns the replaced config (with its `setupFunc`, which must be run on
 *   the backend instance before its `kernelFunc` is called).
 */
export function nativeKernelConfig(
  kernelName: string,
  backendName: string,
): KernelConfig | undefined {
  return nativeConfigs.get(`${backendName}/${kernelName}`);
}

/**
 * Registers the provided kernels (idempotent) and lists everything this
 * module has registered so far.
 *
 * Each provided kernel is installed once. A later call leaves a kernel
 * alone when the registry holds ours or something registered over ours
 * after it was installed (such as `model/backend/blas`' kernels, which keep ours
 * as their fallback), so calling this on every `initBackend("wasm")` never
 * undoes them; it installs ours again only where the registry is back to
 * the backend's own kernel (the one recorded by
 * {@link nativeKernelConfig}) or holds nothing.
 *
 * @returns the provided kernels now in the registry (directly or as the
 *   fallback of a kernel registered over them).
 */
export function registerProvidedKernels(): ProvidedKernel[] {
  const backendName = "wasm";
  for (const p of WASM) {
    const key = `${backendName}/${p.kernelName}`;
    const existing = tf.getKernel(p.kernelName, backendName);
    if (existing && ours.has(existing.kernelFunc)) continue;
    if (installed.has(key) && existing) {
      // installed before and since replaced by a deliberate registration
      // over ours: leave it, unless it is the native kernel again
      const native = nativeConfigs.get(key);
      if (!native || existing.kernelFunc !== native.kernelFunc) continue;
    }
    if (existing && p.mode === "missing") continue;
    if (existing) {
      if (!installed.has(key)) nativeConfigs.set(key, existing);
      tf.unregisterKernel(p.kernelName, backendName);
    }
    tf.registerKernel({
      kernelName: p.kernelName,
      backendName,
      kernelFunc: p.kernelFunc,
    });
    if (!installed.has(key)) {
      installed.add(key);
      registered.push({
        kernelName: p.kernelName,
        backendName,
        replaced: existing != null,
        reason: p.reason,
      });
    }
  }
  return [...registered];
}
