/**
 * WGSL sources of the selective scan for the `webgpu` backend. Sizes are
 * baked into the shader text as constants (one pipeline per shape, cached by
 * the backend under the program's shader key).
 *
 * Threads: one per (batch row b, channel d), each walking the sequence with
 * its N-element state in private memory.
 *
 * @module
 */
import type { ScanDims } from "./scan_js.ts";

/** Workgroup size (x) of every scan program. */
export const SCAN_WORKGROUP = 64;

function constants(dims: ScanDims, deltaSoftplus: boolean): string {
  return `
const SCAN_BATCH : i32 = ${dims.batch};
const SCAN_LEN : i32 = ${dims.length};
const SCAN_DIM : i32 = ${dims.dim};
const SCAN_NS : i32 = ${dims.state};
const SCAN_SOFTPLUS : bool = ${deltaSoftplus};

// softplus with PyTorch's threshold 20; log1p(e) by its series for small e
// so that very negative inputs keep their relative precision.
fn scanSoftplus(z : f32) -> f32 {
  if (z > 20.0) { return z; }
  let e = exp(z);
  if (e < 1e-3) { return e * (1.0 - e * (0.5 - e / 3.0)); }
  return log(1.0 + e);
}
`;
}

/**
 * Forward scan: inputs `xu, xdelta, xa, xb, xc, xd, xbias` (the seven scan
 * inputs in order), output y [B, L, D].
 */
export function forwardWgsl(dims: ScanDims, deltaSoftplus: boolean): string {
  return `${constants(dims, deltaSoftplus)}
fn main(index : i32) {
  _ = uniforms.outShape; // keeps the uniform binding in the 'auto' layout
  if (index >= SCAN_BATCH * SCAN_DIM) { return; }
  let b = index / SCAN_DIM;
  let d = index % SCAN_DIM;
  var h : array<f32, SCAN_NS>;
  for (var n = 0; n < SCAN_NS; n++) { h[n] = 0.0; }
  let bias = xbias[d];
  let skip = xd[d];
  for (var t = 0; t < SCAN_LEN; t++) {
    let row = (b * SCAN_LEN + t) * SCAN_DIM + d;
    let rowN = (b * SCAN_LEN + t) * SCAN_NS;
    var dt = xdelta[row] + bias;
    if (SCAN_SOFTPLUS) { dt = scanSoftplus(dt); }
    let ut = xu[row];
    let dtu = dt * ut;
    var acc = 0.0;
    for (var n = 0; n < SCAN_NS; n++) {
      let hv = exp(dt * xa[d * SCAN_NS + n]) * h[n] + dtu * xb[rowN + n];
      h[n] = hv;
      acc += hv * xc[rowN + n];
    }
    result[row] = acc + skip * ut;
  }
}
`;
}

/** Offsets (in floats) of the regions of the backward scan's packed output. */
export interface GradLayout {
  /** per (b,t,d,n): first h_t, then dy·h_t (summed over d gives dC). */
  hc: number;
  /** per (b,t,d,n): dL/dh_t·Δ·u (summed over d gives dB). */
  gb: number;
  /** per (b,t,d): dL/du. */
  gu: number;
  /** per (b,t,d): dL/ddelta. */
  gdelta: number;
  /** per (b,d,n): dL/dA of batch row b (summed over b gives dA). */
  ga: number;
  /** per (b,d): dL/dD of batch row b. */
  gd: number;
  /** per (b,d): dL/ddeltaBias of batch row b. */
  gbias: number;
  /** total floats. */
  size: number;
}

/** The packed layout of the backward program's output for `dims`. */
export function gradLayout(dims: ScanDims): GradLayout {
  const { batch, length, dim, state } = dims;
  const bldn = batch * length * dim * state;
  const bld = batch * length * dim;
  const bdn = batch * dim * state;
  const bd = batch * dim;
  const hc = 0;
  const gb = hc + bldn;
  const gu = gb + bldn;
  const gdelta = gu + bld;
  const ga = gdelta + bld;
  const gd = ga + bdn;
  const gbias = gd + bd;
  return { hc, gb, gu, gdelta, ga, gd, gbias, size: gbias + bd };
}

/**
 * Packs the per-channel parameters `xa` [D, N], `xd` [D], `xbias` [D] into one
 * buffer [D·N + 2·D] (the backward program would otherwise bind 9 storage
 * buffers; WebGPU guarantees 8).
 */
export function packParamsWgsl(dims: ScanDims): string {
  const dn = dims.dim * dims.state;
  const d = dims.dim;
  return `
fn main(index : i32) {
  _ = uniforms.outShape; // keeps the uniform binding in the 'auto' layout
  if (index < ${dn}) {
    result[index] = xa[index];
  } else if (index < ${dn + d}) {
    result[index] = xd[index - ${dn}];
  } else if (index < ${dn + 2 * d}) {
    result[index] = xbias[index - ${dn + d}];
  }
}
`;
}

/**
 * Backward scan over the batch rows `uniforms.b0 + [0, dims.batch)` of the
 * inputs (`dims.batch` is the chunk size): inputs `xu, xdelta, xparams, xb,
 * xc, xdy` (`xparams` from {@link packParamsWgsl}); output the packed buffer
 * of {@link gradLayout} for the chunk. Uniform: `b0 : i32`. The forward states are stored in the
 * `hc` region during a first pass and overwritten by dy·h_t on the way back.
 */
export function backwardWgsl(dims: ScanDims, deltaSoftplus: boolean): string {
  const o = gradLayout(dims);
  return `${constants(dims, deltaSoftplus)}
fn main(index : i32) {
  if (index >= SCAN_BATCH * SCAN_DIM) { return; }
  let b = index / SCAN_DIM;
  let gb = b + uniforms.b0; // batch row in the inputs
  let d = index % SCAN_DIM;
  let bias = xparams[SCAN_DIM * SCAN_NS + SCAN_DIM + d];
  let skip = xparams[SCAN_DIM * SCAN_NS + d];
  var h : array<f32, SCAN_NS>;
  var gh : array<f32, SCAN_NS>;
  var ga : array<f32, SCAN_NS>;
  var a : array<f32, SCAN_NS>;
  for (var n = 0; n < SCAN_NS; n++) {
    h[n] = 0.0;
    gh[n] = 0.0;
    ga[n] = 0.0;
    a[n] = xparams[d * SCAN_NS + n];
  }
  for (var t = 0; t < SCAN_LEN; t++) {
    let row = (gb * SCAN_LEN + t) * SCAN_DIM + d;
    let rowN = (gb * SCAN_LEN + t) * SCAN_NS;
    let lrow = (b * SCAN_LEN + t) * SCAN_DIM + d; // row in the packed output
    var dt = xdelta[row] + bias;
    if (SCAN_SOFTPLUS) { dt = scanSoftplus(dt); }
    let dtu = dt * xu[row];
    for (var n = 0; n < SCAN_NS; n++) {
      h[n] = exp(dt * a[n]) * h[n] + dtu * xb[rowN + n];
      result[${o.hc} + lrow * SCAN_NS + n] = h[n];
    }
  }
  var gD = 0.0;
  var gBias = 0.0;
  for (var t = SCAN_LEN - 1; t >= 0; t--) {
    let row = (gb * SCAN_LEN + t) * SCAN_DIM + d;
    let rowN = (gb * SCAN_LEN + t) * SCAN_NS;
    let lrow = (b * SCAN_LEN + t) * SCAN_DIM + d; // row in the packed output
    let z = xdelta[row] + bias;
    var dt = z;
    if (SCAN_SOFTPLUS) { dt = scanSoftplus(z); }
    let gy = xdy[row];
    let ut = xu[row];
    gD += gy * ut;
    var gu = gy * skip;
    var gdt = 0.0;
    for (var n = 0; n < SCAN_NS; n++) {
      let k = ${o.hc} + lrow * SCAN_NS + n;
      let ht = result[k];
      var hPrev = 0.0;
      if (t > 0) { hPrev = result[k - SCAN_DIM * SCAN_NS]; }
      let e = exp(dt * a[n]);
      let bv = xb[rowN + n];
      let ghk = gh[n] + gy * xc[rowN + n];
      result[k] = gy * ht;
      let gE = ghk * hPrev * e;
      ga[n] += gE * dt;
      gdt += gE * a[n] + ghk * bv * ut;
      result[${o.gb} + lrow * SCAN_NS + n] = ghk * dt * ut;
      gu += ghk * dt * bv;
      gh[n] = ghk * e;
    }
    var gz = gdt;
    if (SCAN_SOFTPLUS && z <= 20.0) { gz = gdt / (1.0 + exp(-z)); }
    result[${o.gu} + lrow] = gu;
    result[${o.gdelta} + lrow] = gz;
    gBias += gz;
  }
  for (var n = 0; n < SCAN_NS; n++) {
    result[${o.ga} + index * SCAN_NS + n] = ga[n];
  }
  result[${o.gd} + index] = gD;
  result[${o.gbias} + index] = gBias;
}
`;
}

/**
 * Strided sum over a middle axis of a region of `src`, written at
 * `uniforms.outOffset` of the output (added to what is there when
 * `uniforms.accumulate` is 1):
 * result[outOffset + i] (+)= Σ_{r<count} src[offset + (i / inner)·count·inner + r·inner + i % inner]
 * for i < size. With count 1 it is a copy. Uniforms: `outOffset, accumulate : i32`.
 */
export function stridedSumWgsl(
  offset: number,
  count: number,
  inner: number,
  size: number,
): string {
  return `
fn main(index : i32) {
  if (index >= ${size}) { return; }
  let base = ${offset} + (index / ${inner}) * ${
    count * inner
  } + index % ${inner};
  var acc = 0.0;
  for (var r = 0; r < ${count}; r++) {
    acc += src[base + r * ${inner}];
  }
  let o = uniforms.outOffset + index;
  if (uniforms.accumulate == 1) {
    result[o] = result[o] + acc;
  } else {
    result[o] = acc;
  }
}
`;
}
