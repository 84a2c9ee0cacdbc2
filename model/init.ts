/**
 * Deterministic, seeded parameter initialisation.
 *
 * Every parameter draws from its own random stream, derived from the model
 * seed and the parameter's state-dict name ({@link streamSeed}), so a weight's
 * initial value does not depend on the order in which modules are built and
 * the same seed always gives bit-identical weights. The generator is
 * xoshiro128** seeded through splitmix32; normals use Box–Muller in float64.
 *
 * Initialisers follow the reference MambaVision code (`mamba_vision.py`):
 * - `nn.Linear`: timm `trunc_normal_(std=0.02)` (absolute bounds ±2, as timm's
 *   defaults) with zero bias. This includes the mixer's `dt_proj`, because the
 *   reference's `self.apply(_init_weights)` runs after the mixer's own
 *   Mamba-style dt init and overwrites it (the `_no_reinit` flag is not
 *   honoured there); `mixer.dtInit: "mamba"` selects Mamba's dt init instead.
 * - `nn.Conv1d`/`nn.Conv2d`: PyTorch's default `kaiming_uniform_(a=√5)`, i.e.
 *   U(−1/√fan_in, 1/√fan_in) for weight and bias.
 * - `A_log = log(1..N)` per channel, `D = 1`, LayerNorm/BatchNorm weight 1,
 *   bias 0, running mean 0, running var 1, layer-scale gammas = layerScale.
 *
 * @module
 */

/** A seeded pseudo-random generator (xoshiro128**). */
export class Rng {
  #s: Uint32Array;
  #spare = 0;
  #hasSpare = false;

  /** Creates a generator whose whole stream is determined by `seed`. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) {
      throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    }
    this.#s = new Uint32Array(4);
    let x = (Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 4294967296);
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** Next raw 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * Standard normal sample (Marsaglia's polar method; the pair's second
   * value is kept for the next call).
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u = 0, v = 0, s = 0;
    do {
      // 32-bit uniforms are plenty for initialisation draws
      u = this.nextU32() * 4.656612873077393e-10 - 1;
      v = this.nextU32() * 4.656612873077393e-10 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * f;
    this.#hasSpare = true;
    return u * f;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a hash of a string (32 bits). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Seed of the named sub-stream of `seed` (e.g. one parameter's init stream,
 * or one layer's dropout stream in a forward pass).
 */
export function streamSeed(seed: number, name: string): number {
  const base = (Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 4294967296);
  let h = (hashString(name) ^ Math.imul(base, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** How one parameter or buffer is initialised (values in PyTorch layout). */
export type InitSpec =
  /** normal(0, std) truncated to [a, b] (timm semantics: absolute bounds). */
  | { kind: "truncNormal"; std: number; a: number; b: number }
  /** uniform in [-bound, bound). */
  | { kind: "uniform"; bound: number }
  /** every element equal to `value`. */
  | { kind: "const"; value: number }
  /** Mamba's A_log: row d is log(1), log(2), …, log(N). Shape [D, N]. */
  | { kind: "aLog" }
  /** Mamba's dt bias: inverse softplus of exp(U(log dtMin, log dtMax)), floored. */
  | { kind: "dtBias"; dtMin: number; dtMax: number; floor: number };

/**
 * Fills a buffer of `size` values in PyTorch layout for `spec` from `rng`.
 * `shape` is the PyTorch shape (used by `aLog`).
 */
export function initValues(
  spec: InitSpec,
  shape: readonly number[],
  rng: Rng,
): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  switch (spec.kind) {
    case "truncNormal":
      for (let i = 0; i < size; i++) {
        let v = rng.normal() * spec.std;
        while (v < spec.a || v > spec.b) v = rng.normal() * spec.std;
        out[i] = v;
      }
      break;
    case "uniform":
      for (let i = 0; i < size; i++) {
        out[i] = rng.uniform(-spec.bound, spec.bound);
      }
      break;
    case "const":
      out.fill(spec.value);
      break;
    case "aLog": {
      const n = shape[shape.length - 1];
      for (let i = 0; i < size; i++) out[i] = Math.log((i % n) + 1);
      break;
    }
    case "dtBias": {
      const lo = Math.log(spec.dtMin), hi = Math.log(spec.dtMax);
      for (let i = 0; i < size; i++) {
        const dt = Math.max(Math.exp(rng.next() * (hi - lo) + lo), spec.floor);
        // inverse softplus: dt + log(-expm1(-dt))
        out[i] = dt + Math.log(-Math.expm1(-dt));
      }
      break;
    }
  }
  return out;
}
