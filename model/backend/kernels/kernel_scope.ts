/**
 * A small helper to build a kernel out of other kernels of the same backend
 * without going through the engine: each call runs the registered kernel
 * function directly and remembers its output so that the intermediates can
 * be released at the end (reference-counted, so reshaped views stay valid).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type {
  KernelBackend,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from "./types.ts";

/** Kernel attributes as TensorFlow.js passes them to kernel functions. */
export type Attrs = Record<string, unknown>;

/**
 * Runs kernels of one backend by name and tracks their outputs.
 *
 * @example
 * ```ts ignore
 * const s = new KernelScope(backend, "wasm");
 * try {
 *   const t = s.run("Transpose", { x }, { perm: [1, 0] });
 *   return s.keep(s.run("Reshape", { x: t }, { shape: [-1] }));
 * } finally {
 *   s.dispose();
 * }
 * ```
 */
export class KernelScope {
  #tracked: TensorInfo[] = [];
  #kept = new Set<TensorInfo>();

  /**
   * Creates a scope running kernels of `backendName` on `backend`.
   *
   * @param backend the backend instance the kernel was called with.
   * @param backendName its registered name (kernels are looked up by it).
   */
  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /**
   * Runs kernel `name` with `inputs` and `attrs`; the output is released by
   * {@link KernelScope.dispose} unless passed to {@link KernelScope.keep}.
   *
   * @param name the kernel name (e.g. `"Conv2D"`).
   * @param inputs named input tensors.
   * @param attrs kernel attributes.
   * @returns the kernel's (single) output.
   * @throws Error when the backend has no such kernel.
   */
  run(
    name: string,
    inputs: Record<string, TensorInfo>,
    attrs: Attrs = {},
  ): TensorInfo {
    const k = tf.getKernel(name, this.backendName);
    if (!k) {
      throw new Error(
        `KernelScope: backend "${this.backendName}" has no kernel "${name}"`,
      );
    }
    const out = k.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.backend,
      attrs: attrs as tf.NamedAttrMap,
    });
    if (Array.isArray(out)) {
      throw new Error(`KernelScope: kernel "${name}" returned several outputs`);
    }
    this.#tracked.push(out);
    return out;
  }

  /**
   * Marks `t` as the result: it survives {@link KernelScope.dispose}.
   *
   * @param t a tensor produced by {@link KernelScope.run}.
   * @returns `t`.
   */
  keep(t: TensorInfo): TensorInfo {
    this.#kept.add(t);
    return t;
  }

  /** Releases every tracked output that was not kept. */
  dispose(): void {
    for (const t of this.#tracked) {
      if (!this.#kept.has(t)) this.backend.disposeData(t.dataId);
    }
    this.#tracked = [];
    this.#kept.clear();
  }
}

/** The argument TensorFlow.js passes to a kernel function. */
export interface KernelArgs {
  /** named inputs. */
  inputs: NamedTensorInfoMap;
  /** the backend instance running the kernel. */
  backend: KernelBackend;
  /** kernel attributes. */
  attrs: NamedAttrMap;
}

/**
 * Returns input `name` of a kernel call or throws naming the kernel.
 *
 * @param args the kernel call.
 * @param name the input's name.
 * @param kernel the kernel's name, for the message.
 * @returns the input.
 */
export function input(
  args: KernelArgs,
  name: string,
  kernel: string,
): TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`${kernel}: input "${name}" is missing`);
  return t;
}
