/**
 * Loader of the TV-L1 WebAssembly SIMD kernels (`tvl1_simd.wat`): the inner
 * iterations (thresholding, divergence, primal and dual updates) on four
 * pixels at a time, in float32 arithmetic in OpenCV's evaluation order. The
 * module owns its memory; {@link Tvl1WasmArena} lays the per-call buffers out
 * in it.
 *
 * @module
 */
import { TVL1_SIMD_WASM_BASE64 } from "./tvl1_simd_wasm.ts";

/** The module's exports. */
export interface Tvl1WasmExports {
  /** the module memory (grown by {@link Tvl1WasmArena}). */
  memory: WebAssembly.Memory;
  /**
   * Sets the level's size, constants and buffer byte offsets:
   * `(w, h, λθ, θ, τ/θ, i1wx, i1wy, grad, rho, u1, u2, p11, p12, p21, p22)`.
   */
  setup: (...args: number[]) => void;
  /**
   * One sweep over the rows: mode 1 dual step, 2 primal step, 3 dual step
   * fused with the next primal step. Returns the primal Σ|Δu|² (float32).
   */
  sweep: (mode: number) => number;
  /**
   * 5×5 median with replicated borders:
   * `(src, dst, w, h, pad, cols)`, byte offsets; `src ≠ dst`, `pad` holds
   * (w+12)·(h+4) floats, `cols` 5·(w+12).
   */
  median5: (...args: number[]) => void;
  /**
   * Warping step: `(i0, i1, i1x, i1y, i1w, tab)` byte offsets; samples I1
   * and its gradient at the flow set by `setup` and writes I1w, I1wx, I1wy,
   * grad, rho.
   */
  warp: (...args: number[]) => void;
}

let cached: Tvl1WasmExports | null | undefined;

/**
 * The instantiated module, or `null` when this runtime lacks WebAssembly
 * SIMD (callers then use the JavaScript kernels).
 *
 * @returns the exports or null
 */
export function tvl1Wasm(): Tvl1WasmExports | null {
  if (cached !== undefined) return cached;
  const s = atob(TVL1_SIMD_WASM_BASE64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  if (typeof WebAssembly === "undefined" || !WebAssembly.validate(bytes)) {
    cached = null;
    return null;
  }
  cached = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
    .exports as unknown as Tvl1WasmExports;
  return cached;
}

/**
 * Float32 buffers carved out of the module memory (16-byte aligned). The
 * memory is grown once, up front, so the views stay valid.
 */
export class Tvl1WasmArena {
  /** the views, in the order requested. */
  readonly views: Float32Array[] = [];
  /** byte offset of each view. */
  readonly offsets: number[] = [];

  /**
   * @param mod the module
   * @param sizes float32 lengths of the buffers to lay out
   */
  constructor(mod: Tvl1WasmExports, sizes: number[]) {
    let at = 16;
    for (const n of sizes) {
      this.offsets.push(at);
      at += Math.ceil(n / 4) * 16 + 16;
    }
    const have = mod.memory.buffer.byteLength;
    if (at > have) mod.memory.grow(Math.ceil((at - have) / 65536));
    const buf = mod.memory.buffer;
    sizes.forEach((n, k) => {
      const v = new Float32Array(buf, this.offsets[k], n);
      v.fill(0);
      this.views.push(v);
    });
  }
}
