/**
 * Deterministic, seeded parameter initialisation.
 *
 * Every parameter draws from its own random stream, derived from the model
 * seed and the parameter's state-dict name (`streamSeed` of `rng/`), so a weight's
 * initial value does not depend on the order in which modules are built and
 * the same seed always gives bit-identical weights. The generator is the
 * shared `rng/` library's {@link StreamRng} (xoshiro128**, 53-bit uniforms,
 * polar-method normals in float64).
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
import type { StreamRng } from "../rng/mod.ts";

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
  rng: StreamRng,
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
