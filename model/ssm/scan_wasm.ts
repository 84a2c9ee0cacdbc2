/**
 * Selective scan forward and backward in WebAssembly SIMD (`scan_simd.wat`,
 * four channels per f32x4 vector, vectorised exp/softplus). Same contract as
 * {@link scanForward}/{@link scanBackward} in `scan_js.ts`, on float32 arrays.
 *
 * The module has its own memory: each call copies the inputs in (padding
 * the channel count D to a multiple of 4 and transposing A to [N, D]), runs,
 * and copies the results out. Backward scratch: (2L+1)·N·Dp + L·Dp + N·Dp +
 * 8N floats (the states and decay factors of one batch row, reused across
 * rows). Memory grows as needed and is kept for later calls.
 *
 * @module
 */
import { decodeBase64 } from "./base64.ts";
import type { ScanArrays, ScanDims } from "./scan_js.ts";
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

function ensureMemory(m: ScanExports, bytes: number): Float32Array {
  const have = m.memory.buffer.byteLength;
  if (bytes > have) m.memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float32Array(m.memory.buffer);
}

/** Copies [rows, dim] into [rows, dp] at float index `at`, zero padding. */
function putPadded(
  heap: Float32Array,
  at: number,
  src: ArrayLike<number>,
  rows: number,
  dim: number,
  dp: number,
): void {
  if (dim === dp) {
    heap.set(src as Float32Array, at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = at + r * dp;
    for (let d = 0; d < dim; d++) heap[o + d] = src[r * dim + d];
    for (let d = dim; d < dp; d++) heap[o + d] = 0;
  }
}

function getPadded(
  heap: Float32Array,
  at: number,
  dst: Float32Array | Float64Array,
  rows: number,
  dim: number,
  dp: number,
): void {
  if (dim === dp && dst instanceof Float32Array) {
    dst.set(heap.subarray(at, at + rows * dim));
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = at + r * dp;
    for (let d = 0; d < dim; d++) dst[r * dim + d] = heap[o + d];
  }
}

/** Lays out the seven inputs; returns their byte offsets and the heap view. */
function layoutInputs(
  m: ScanExports,
  x: ScanArrays,
  dims: ScanDims,
  arena: Arena,
  extra: (a: Arena) => void,
) {
  const { batch, length, dim, state } = dims;
  const dp = Math.ceil(dim / 4) * 4;
  const bld = batch * length * dp;
  const p = {
    u: arena.take(bld),
    delta: arena.take(bld),
    At: arena.take(state * dp),
    B: arena.take(batch * length * state),
    C: arena.take(batch * length * state),
    D: arena.take(dp),
    bias: arena.take(dp),
  };
  extra(arena);
  const heap = ensureMemory(m, arena.offset);
  const rows = batch * length;
  putPadded(heap, p.u >> 2, x.u, rows, dim, dp);
  putPadded(heap, p.delta >> 2, x.delta, rows, dim, dp);
  const at = p.At >> 2;
  for (let n = 0; n < state; n++) {
    for (let d = 0; d < dp; d++) {
      heap[at + n * dp + d] = d < dim ? x.A[d * state + n] : 0;
    }
  }
  heap.set(x.B as Float32Array, p.B >> 2);
  heap.set(x.C as Float32Array, p.C >> 2);
  putPadded(heap, p.D >> 2, x.D, 1, dim, dp);
  putPadded(heap, p.bias >> 2, x.deltaBias, 1, dim, dp);
  return { p, heap, dp };
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
  const arena = new Arena();
  let pY = 0, pH = 0;
  const dp0 = Math.ceil(dim / 4) * 4;
  const { p, dp } = layoutInputs(m, x, dims, arena, (a) => {
    pY = a.take(batch * length * dp0);
    pH = a.take(state * dp0);
  });
  m.forward(
    batch,
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
    pY,
    pH,
  );
  getPadded(
    new Float32Array(m.memory.buffer),
    pY >> 2,
    y,
    batch * length,
    dim,
    dp,
  );
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
  g: {
    u: Float32Array | Float64Array;
    delta: Float32Array | Float64Array;
    A: Float32Array | Float64Array;
    B: Float32Array | Float64Array;
    C: Float32Array | Float64Array;
    D: Float32Array | Float64Array;
    deltaBias: Float32Array | Float64Array;
  },
): void {
  const m = scanModule();
  if (m === null) {
    throw new Error("scanBackwardWasm: WebAssembly SIMD is unavailable");
  }
  const { batch, length, dim, state } = dims;
  const dp0 = Math.ceil(dim / 4) * 4;
  const bld = batch * length * dp0;
  const bln = batch * length * state;
  const q = {
    dy: 0,
    gu: 0,
    gdelta: 0,
    gAt: 0,
    gB: 0,
    gC: 0,
    gD: 0,
    gBias: 0,
    s: 0,
  };
  const arena = new Arena();
  const { p, dp } = layoutInputs(m, x, dims, arena, (a) => {
    q.dy = a.take(bld);
    q.gu = a.take(bld);
    q.gdelta = a.take(bld);
    q.gAt = a.take(state * dp0);
    q.gB = a.take(bln);
    q.gC = a.take(bln);
    q.gD = a.take(dp0);
    q.gBias = a.take(dp0);
    q.s = a.take(
      (2 * length + 1) * state * dp0 + length * dp0 + state * dp0 + 8 * state,
    );
  });
  let heap = new Float32Array(m.memory.buffer);
  putPadded(heap, q.dy >> 2, dy, batch * length, dim, dp);
  heap.fill(0, q.gAt >> 2, (q.gAt >> 2) + state * dp);
  heap.fill(0, q.gD >> 2, (q.gD >> 2) + dp);
  heap.fill(0, q.gBias >> 2, (q.gBias >> 2) + dp);
  m.backward(
    batch,
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
    q.dy,
    q.gu,
    q.gdelta,
    q.gAt,
    q.gB,
    q.gC,
    q.gD,
    q.gBias,
    q.s,
  );
  heap = new Float32Array(m.memory.buffer);
  getPadded(heap, q.gu >> 2, g.u, batch * length, dim, dp);
  getPadded(heap, q.gdelta >> 2, g.delta, batch * length, dim, dp);
  const gat = q.gAt >> 2;
  for (let d = 0; d < dim; d++) {
    for (let n = 0; n < state; n++) g.A[d * state + n] = heap[gat + n * dp + d];
  }
  const gb = q.gB >> 2, gc = q.gC >> 2;
  for (let i = 0; i < bln; i++) {
    g.B[i] = heap[gb + i];
    g.C[i] = heap[gc + i];
  }
  getPadded(heap, q.gD >> 2, g.D, 1, dim, dp);
  getPadded(heap, q.gBias >> 2, g.deltaBias, 1, dim, dp);
}
