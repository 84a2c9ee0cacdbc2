/**
 * Selective scan forward and backward in WebAssembly SIMD (`scan_simd.wat`,
 * four channels per f32x4 vector, vectorised exp/softplus). Same contract as
 * {@link scanForward}/{@link scanBackward} in `scan_js.ts`, on float32 arrays.
 *
 * The module has its own memory: each call copies the inputs in (padding
 * the channel count D to Dp, a multiple of 4, and transposing A to [N, Dp]),
 * runs, and copies the results out, in chunks of batch rows that fit in
 * `wasmScanOptions.chunkBytes` (32 MiB by default). Backward scratch:
 * (2L+1)·N·Dp + L·Dp + N·Dp + 8N floats (the states and decay factors of one
 * batch row, reused across rows). Memory grows as needed and is kept for
 * later calls.
 *
 * @module
 */
import { decodeBase64 } from "./base64.ts";
import type { ScanArrays, ScanDims, ScanGradArrays } from "./scan_js.ts";
import { SCAN_SIMD_WASM_BASE64 } from "./scan_simd_wasm.ts";

interface ScanExports {
  memory: WebAssembly.Memory;
  forward: (...args: number[]) => void;
  backward: (...args: number[]) => void;
}

let instance: ScanExports | null | undefined;

/** The instantiated module, or null when this runtime lacks WebAssembly SIMD. */
function scanModule(): ScanExports | null {
  if (instance !== undefined) return instance;
  const bytes = decodeBase64(SCAN_SIMD_WASM_BASE64);
  if (typeof WebAssembly === "undefined" || !WebAssembly.validate(bytes)) {
    instance = null;
    return null;
  }
  const mod = new WebAssembly.Module(bytes);
  instance = new WebAssembly.Instance(mod, {})
    .exports as unknown as ScanExports;
  return instance;
}

/** Whether the WebAssembly SIMD scan can run here. */
export function wasmScanAvailable(): boolean {
  return scanModule() !== null;
}

/** Bump allocator over the module memory, 16-byte aligned. */
class Arena {
  offset = 16;
  /** reserves `floats` float32 slots; returns the byte offset. */
  take(floats: number): number {
    const p = this.offset;
    this.offset += Math.ceil(floats / 4) * 16;
    return p;
  }
}

/**
 * `chunkBytes`: the most bytes of module memory one call's batch chunk may
 * use (default 32 MiB): the batch is copied in, scanned and copied out in
 * chunks of rows that fit, which bounds the module's memory whatever the
 * batch size. Tests lower it to exercise chunking.
 */
export const wasmScanOptions: { chunkBytes: number } = {
  chunkBytes: 32 * 1024 * 1024,
};

const MAX_BYTES = 2 ** 32 - 65536;

function ensureMemory(m: ScanExports, bytes: number): Float32Array {
  if (bytes > MAX_BYTES) {
    throw new Error(
      `selective scan (wasm SIMD): needs ${bytes} bytes of module memory, over the 4 GiB of wasm32; one batch row is too large`,
    );
  }
  const have = m.memory.buffer.byteLength;
  if (bytes > have) m.memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float32Array(m.memory.buffer);
}

/** Rows per chunk given the floats one row and the fixed part need. */
function chunkRows(batch: number, perRow: number, fixed: number): number {
  const budget = wasmScanOptions.chunkBytes / 4 - fixed;
  return Math.max(1, Math.min(batch, Math.floor(budget / perRow)));
}

/**
 * Copies `rows` rows of `dim` values from `src` (starting at float `from`)
 * into rows of `dp` at float index `at` of `heap`, zero padding.
 */
function putPadded(
  heap: Float32Array,
  at: number,
  src: ArrayLike<number>,
  from: number,
  rows: number,
  dim: number,
  dp: number,
): void {
  if (dim === dp && src instanceof Float32Array) {
    heap.set(src.subarray(from, from + rows * dim), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = at + r * dp;
    const so = from + r * dim;
    for (let d = 0; d < dim; d++) heap[o + d] = src[so + d];
    for (let d = dim; d < dp; d++) heap[o + d] = 0;
  }
}

/** The inverse of {@link putPadded}: rows of `dp` back to rows of `dim`. */
function getPadded(
  heap: Float32Array,
  at: number,
  dst: Float32Array | Float64Array,
  to: number,
  rows: number,
  dim: number,
  dp: number,
): void {
  if (dim === dp && dst instanceof Float32Array) {
    dst.set(heap.subarray(at, at + rows * dim), to);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = at + r * dp;
    const t = to + r * dim;
    for (let d = 0; d < dim; d++) dst[t + d] = heap[o + d];
  }
}

/** Writes A [D, N] transposed and padded to [N, Dp] at float index `at`. */
function putAt(
  heap: Float32Array,
  at: number,
  A: ArrayLike<number>,
  dim: number,
  state: number,
  dp: number,
): void {
  for (let n = 0; n < state; n++) {
    for (let d = 0; d < dp; d++) {
      heap[at + n * dp + d] = d < dim ? A[d * state + n] : 0;
    }
  }
}

/**
 * Forward scan into `y` [B, L, D] with the SIMD module; see
 * `scanForward` in `scan_js.ts` for the semantics. Throws when
 * WebAssembly SIMD is unavailable (check {@link wasmScanAvailable}).
 */
export function scanForwardWasm(
  x: ScanArrays,
  dims: ScanDims,
  deltaSoftplus: boolean,
  y: Float32Array | Float64Array,
): void {
  const m = scanModule();
  if (m === null) {
    throw new Error("scanForwardWasm: WebAssembly SIMD is unavailable");
  }
  const { batch, length, dim, state } = dims;
  const dp = Math.ceil(dim / 4) * 4;
  const ld = length * dp, ln = length * state;
  const nb = chunkRows(batch, 3 * ld + 2 * ln, 2 * state * dp + 2 * dp + 64);
  const a = new Arena();
  const p = {
    At: a.take(state * dp),
    D: a.take(dp),
    bias: a.take(dp),
    h: a.take(state * dp),
    u: a.take(nb * ld),
    delta: a.take(nb * ld),
    B: a.take(nb * ln),
    C: a.take(nb * ln),
    y: a.take(nb * ld),
  };
  let heap = ensureMemory(m, a.offset);
  putAt(heap, p.At >>> 2, x.A, dim, state, dp);
  putPadded(heap, p.D >>> 2, x.D, 0, 1, dim, dp);
  putPadded(heap, p.bias >>> 2, x.deltaBias, 0, 1, dim, dp);
  for (let b0 = 0; b0 < batch; b0 += nb) {
    const rows = Math.min(nb, batch - b0);
    const r0 = b0 * length;
    putPadded(heap, p.u >>> 2, x.u, r0 * dim, rows * length, dim, dp);
    putPadded(heap, p.delta >>> 2, x.delta, r0 * dim, rows * length, dim, dp);
    putPadded(heap, p.B >>> 2, x.B, r0 * state, 1, rows * ln, rows * ln);
    putPadded(heap, p.C >>> 2, x.C, r0 * state, 1, rows * ln, rows * ln);
    m.forward(
      rows,
      length,
      dp,
      state,
      deltaSoftplus ? 1 : 0,
      p.u,
      p.delta,
      p.At,
      p.B,
      p.C,
      p.D,
      p.bias,
      p.y,
      p.h,
    );
    heap = new Float32Array(m.memory.buffer);
    getPadded(heap, p.y >>> 2, y, r0 * dim, rows * length, dim, dp);
  }
}

/**
 * Backward scan with the SIMD module: writes the gradients of all seven
 * inputs into `g` given dL/dy; see `scanBackward` in `scan_js.ts`.
 */
export function scanBackwardWasm(
  x: ScanArrays,
  dy: ArrayLike<number>,
  dims: ScanDims,
  deltaSoftplus: boolean,
  g: ScanGradArrays,
): void {
  const m = scanModule();
  if (m === null) {
    throw new Error("scanBackwardWasm: WebAssembly SIMD is unavailable");
  }
  const { batch, length, dim, state } = dims;
  const dp = Math.ceil(dim / 4) * 4;
  const ld = length * dp, ln = length * state;
  const scratch = (2 * length + 1) * state * dp + length * dp + state * dp +
    8 * state;
  const nb = chunkRows(
    batch,
    5 * ld + 4 * ln,
    2 * state * dp + 4 * dp + scratch + 64,
  );
  const a = new Arena();
  const p = {
    At: a.take(state * dp),
    D: a.take(dp),
    bias: a.take(dp),
    gAt: a.take(state * dp),
    gD: a.take(dp),
    gBias: a.take(dp),
    s: a.take(scratch),
    u: a.take(nb * ld),
    delta: a.take(nb * ld),
    dy: a.take(nb * ld),
    B: a.take(nb * ln),
    C: a.take(nb * ln),
    gu: a.take(nb * ld),
    gdelta: a.take(nb * ld),
    gB: a.take(nb * ln),
    gC: a.take(nb * ln),
  };
  let heap = ensureMemory(m, a.offset);
  putAt(heap, p.At >>> 2, x.A, dim, state, dp);
  putPadded(heap, p.D >>> 2, x.D, 0, 1, dim, dp);
  putPadded(heap, p.bias >>> 2, x.deltaBias, 0, 1, dim, dp);
  // gAt, gD, gBias accumulate over batch rows (and chunks) inside the module
  heap.fill(0, p.gAt >>> 2, (p.gAt >>> 2) + state * dp + 2 * dp);
  for (let b0 = 0; b0 < batch; b0 += nb) {
    const rows = Math.min(nb, batch - b0);
    const r0 = b0 * length;
    putPadded(heap, p.u >>> 2, x.u, r0 * dim, rows * length, dim, dp);
    putPadded(heap, p.delta >>> 2, x.delta, r0 * dim, rows * length, dim, dp);
    putPadded(heap, p.dy >>> 2, dy, r0 * dim, rows * length, dim, dp);
    putPadded(heap, p.B >>> 2, x.B, r0 * state, 1, rows * ln, rows * ln);
    putPadded(heap, p.C >>> 2, x.C, r0 * state, 1, rows * ln, rows * ln);
    m.backward(
      rows,
      length,
      dp,
      state,
      deltaSoftplus ? 1 : 0,
      p.u,
      p.delta,
      p.At,
      p.B,
      p.C,
      p.D,
      p.bias,
      p.dy,
      p.gu,
      p.gdelta,
      p.gAt,
      p.gB,
      p.gC,
      p.gD,
      p.gBias,
      p.s,
    );
    heap = new Float32Array(m.memory.buffer);
    getPadded(heap, p.gu >>> 2, g.u, r0 * dim, rows * length, dim, dp);
    getPadded(heap, p.gdelta >>> 2, g.delta, r0 * dim, rows * length, dim, dp);
    getPadded(heap, p.gB >>> 2, g.B, r0 * state, 1, rows * ln, rows * ln);
    getPadded(heap, p.gC >>> 2, g.C, r0 * state, 1, rows * ln, rows * ln);
  }
  const gat = p.gAt >>> 2;
  for (let d = 0; d < dim; d++) {
    for (let n = 0; n < state; n++) g.A[d * state + n] = heap[gat + n * dp + d];
  }
  getPadded(heap, p.gD >>> 2, g.D, 0, 1, dim, dp);
  getPadded(heap, p.gBias >>> 2, g.deltaBias, 0, 1, dim, dp);
}
