/**
 * Selective scan forward and backward as loops over typed arrays: the
 * computational core of the `MerbaSelectiveScan` kernels on the `cpu` and
 * `wasm` backends (and the float64 reference used by the tests).
 *
 * Layout is channels-last: `u`, `delta`, `dy`, `y` are `[B, L, D]`, `B` and
 * `C` are `[B, L, N]`, `A` is `[D, N]`, `D` and `deltaBias` are `[D]`.
 *
 * Memory: the backward pass recomputes the forward states of one batch row
 * at a time and keeps them, with the decay factors exp(Δ·A), in two scratch
 * arrays of `L·D·N` float32 each (reused across batch rows); nothing is saved
 * between the forward and the backward kernels except the inputs.
 *
 * @module
 */

/** Sizes of one selective scan. */
export interface ScanDims {
  /** batch size B. */
  batch: number;
  /** sequence length L. */
  length: number;
  /** channels D. */
  dim: number;
  /** state size N. */
  state: number;
}

/** Read-only arrays of a selective scan's inputs (float32 or float64). */
export interface ScanArrays {
  /** u [B, L, D]. */
  u: ArrayLike<number>;
  /** delta [B, L, D] (before bias and softplus). */
  delta: ArrayLike<number>;
  /** A [D, N]. */
  A: ArrayLike<number>;
  /** B [B, L, N]. */
  B: ArrayLike<number>;
  /** C [B, L, N]. */
  C: ArrayLike<number>;
  /** D [D]. */
  D: ArrayLike<number>;
  /** deltaBias [D]. */
  deltaBias: ArrayLike<number>;
}

/** Writable arrays receiving the gradients of the seven scan inputs. */
export interface ScanGradArrays {
  /** dL/du [B, L, D]. */
  u: Float32Array | Float64Array;
  /** dL/ddelta [B, L, D]. */
  delta: Float32Array | Float64Array;
  /** dL/dA [D, N]. */
  A: Float32Array | Float64Array;
  /** dL/dB [B, L, N]. */
  B: Float32Array | Float64Array;
  /** dL/dC [B, L, N]. */
  C: Float32Array | Float64Array;
  /** dL/dD [D]. */
  D: Float32Array | Float64Array;
  /** dL/ddeltaBias [D]. */
  deltaBias: Float32Array | Float64Array;
}

// exp(x) = 2^(k/64) · exp(r), k = round(64·x/ln2), |r| ≤ ln2/128; 2^(k/64) from
// two small tables, exp(r) from a degree-4 Taylor polynomial (relative error
// < 1e-13, far below float32's 6e-8). Used inside |x| < 700 only.
const EXP_HI_OFFSET = 1100;
const EXP_HI = new Float64Array(2 * EXP_HI_OFFSET);
for (let i = 0; i < EXP_HI.length; i++) {
  EXP_HI[i] = Math.pow(2, i - EXP_HI_OFFSET);
}
const EXP_LO = new Float64Array(64);
for (let j = 0; j < 64; j++) EXP_LO[j] = Math.pow(2, j / 64);
const EXP_SCALE = 64 / Math.LN2;
const EXP_STEP = Math.LN2 / 64;

/**
 * exp(x) via table lookup and a short polynomial; relative error below 1e-13.
 * Faster than `Math.exp` in the scan's inner loop.
 */
export function fastExp(x: number): number {
  if (!(x > -700 && x < 700)) return Math.exp(x);
  const k = Math.round(x * EXP_SCALE);
  const r = x - k * EXP_STEP;
  const ki = k | 0;
  return EXP_HI[(ki >> 6) + EXP_HI_OFFSET] * EXP_LO[ki & 63] *
    (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24)))));
}

/** softplus as PyTorch computes it (threshold 20). */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

/**
 * Forward selective scan into `y` [B, L, D]:
 * h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·B_t·u_t, y_t = ⟨C_t, h_t⟩ + D·u_t,
 * Δ = softplus(delta + deltaBias) when `deltaSoftplus`, else delta + deltaBias.
 * `y` may be a Float32Array (kernels) or Float64Array (float64 reference).
 */
export function scanForward(
  x: ScanArrays,
  dims: ScanDims,
  deltaSoftplus: boolean,
  y: Float32Array | Float64Array,
): void {
  const { batch, length, dim, state } = dims;
  const { u, delta, A, B, C, D, deltaBias } = x;
  const dn = dim * state;
  const h = new Float64Array(dn);
  const a = Float64Array.from(A as ArrayLike<number>);
  const bias = Float64Array.from(deltaBias as ArrayLike<number>);
  const skip = Float64Array.from(D as ArrayLike<number>);
  const bt = new Float64Array(state);
  const ct = new Float64Array(state);
  for (let b = 0; b < batch; b++) {
    h.fill(0);
    for (let t = 0; t < length; t++) {
      const row = (b * length + t) * dim;
      const rowN = (b * length + t) * state;
      for (let n = 0; n < state; n++) {
        bt[n] = B[rowN + n];
        ct[n] = C[rowN + n];
      }
      for (let d = 0; d < dim; d++) {
        const z = delta[row + d] + bias[d];
        const dt = deltaSoftplus ? (z > 20 ? z : Math.log1p(Math.exp(z))) : z;
        const ut = u[row + d];
        const dtu = dt * ut;
        let acc = 0;
        const k0 = d * state;
        for (let n = 0; n < state; n++) {
          const k = k0 + n;
          const hv = fastExp(dt * a[k]) * h[k] + dtu * bt[n];
          h[k] = hv;
          acc += hv * ct[n];
        }
        y[row + d] = acc + skip[d] * ut;
      }
    }
  }
}

/**
 * Backward selective scan: given the inputs and dL/dy [B, L, D], writes the
 * gradients of all seven inputs into `g` (overwriting them). Recomputes the
 * states one batch row at a time (see the module's note on memory).
 */
export function scanBackward(
  x: ScanArrays,
  dy: ArrayLike<number>,
  dims: ScanDims,
  deltaSoftplus: boolean,
  g: ScanGradArrays,
): void {
  const { batch, length, dim, state } = dims;
  const { u, delta, A, B, C, D, deltaBias } = x;
  const dn = dim * state;
  const a = Float64Array.from(A as ArrayLike<number>);
  const bias = Float64Array.from(deltaBias as ArrayLike<number>);
  const skip = Float64Array.from(D as ArrayLike<number>);
  const hs = new Float32Array(length * dn); // h_t for every t of one batch row
  const es = new Float32Array(length * dn); // exp(Δ_t·A) for every t
  const dts = new Float64Array(length * dim); // Δ_t
  const h = new Float64Array(dn);
  const gh = new Float64Array(dn); // dL/dh_t carried backwards (times decay)
  const gA = new Float64Array(dn);
  const gD = new Float64Array(dim);
  const gBias = new Float64Array(dim);
  const bt = new Float64Array(state);
  const ct = new Float64Array(state);
  const gbt = new Float64Array(state);
  const gct = new Float64Array(state);
  for (let b = 0; b < batch; b++) {
    // Recompute the forward states of this batch row.
    h.fill(0);
    for (let t = 0; t < length; t++) {
      const row = (b * length + t) * dim;
      const rowN = (b * length + t) * state;
      for (let n = 0; n < state; n++) bt[n] = B[rowN + n];
      const off = t * dn;
      for (let d = 0; d < dim; d++) {
        const z = delta[row + d] + bias[d];
        const dt = deltaSoftplus ? (z > 20 ? z : Math.log1p(Math.exp(z))) : z;
        dts[t * dim + d] = dt;
        const dtu = dt * u[row + d];
        const k0 = d * state;
        for (let n = 0; n < state; n++) {
          const k = k0 + n;
          const e = fastExp(dt * a[k]);
          const hv = e * h[k] + dtu * bt[n];
          h[k] = hv;
          hs[off + k] = hv;
          es[off + k] = e;
        }
      }
    }
    // Walk back in time.
    gh.fill(0);
    for (let t = length - 1; t >= 0; t--) {
      const row = (b * length + t) * dim;
      const rowN = (b * length + t) * state;
      for (let n = 0; n < state; n++) {
        bt[n] = B[rowN + n];
        ct[n] = C[rowN + n];
        gbt[n] = 0;
        gct[n] = 0;
      }
      const off = t * dn;
      const offPrev = off - dn;
      for (let d = 0; d < dim; d++) {
        const gy = dy[row + d];
        const ut = u[row + d];
        const dt = dts[t * dim + d];
        gD[d] += gy * ut;
        let gu = gy * skip[d];
        let gdt = 0;
        const k0 = d * state;
        for (let n = 0; n < state; n++) {
          const k = k0 + n;
          const ghk = gh[k] + gy * ct[n]; // dL/dh_t
          gct[n] += gy * hs[off + k];
          const e = es[off + k];
          const hPrev = t > 0 ? hs[offPrev + k] : 0;
          const gExp = ghk * hPrev * e; // dL/d(Δ·A)
          gA[k] += gExp * dt;
          gdt += gExp * a[k] + ghk * bt[n] * ut;
          gbt[n] += ghk * dt * ut;
          gu += ghk * dt * bt[n];
          gh[k] = ghk * e;
        }
        let gz = gdt;
        if (deltaSoftplus) {
          const z = delta[row + d] + bias[d];
          gz = z > 20 ? gdt : gdt / (1 + Math.exp(-z));
        }
        g.u[row + d] = gu;
        g.delta[row + d] = gz;
        gBias[d] += gz;
      }
      for (let n = 0; n < state; n++) {
        g.B[rowN + n] = gbt[n];
        g.C[rowN + n] = gct[n];
      }
    }
  }
  for (let k = 0; k < dn; k++) g.A[k] = gA[k];
  for (let d = 0; d < dim; d++) {
    g.D[d] = gD[d];
    g.deltaBias[d] = gBias[d];
  }
}
