/**
 * The named parameter tree: every trainable parameter and BatchNorm buffer is
 * declared once with its PyTorch state-dict name, its PyTorch shape, the
 * layout TensorFlow.js uses internally, and its initialiser. Layers look their
 * variables up by name at call time.
 *
 * Internal layouts (TensorFlow.js' native ones) and their PyTorch forms:
 * - `linear`: [in, out] ↔ PyTorch [out, in]
 * - `conv2d`: [kh, kw, in, out] (HWIO) ↔ PyTorch [out, in, kh, kw] (OIHW)
 * - `dwconv1d`: [K, C] ↔ PyTorch [C, 1, K]
 * - `plain`: identical.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Variable } from "./tensor_types.ts";
import { StreamRng, streamSeed } from "../rng/mod.ts";
import { type InitSpec, initValues } from "./init.ts";

/** How a parameter is laid out internally relative to PyTorch. */
export type Layout = "linear" | "conv2d" | "dwconv1d" | "plain";

/** One declared parameter or buffer. */
export interface ParamSpec {
  /** PyTorch state-dict key. */
  name: string;
  /** shape in PyTorch layout. */
  torchShape: number[];
  /** internal layout. */
  layout: Layout;
  /** initialiser (values generated in PyTorch layout). */
  init: InitSpec;
  /** trainable parameter (true) or buffer (false). */
  trainable: boolean;
  /** element type (`int32` for `num_batches_tracked`, stored as I64). */
  dtype: "float32" | "int32";
}

/**
 * True for the state-dict entries a file may leave out: BatchNorm's
 * `num_batches_tracked` (PyTorch's `load_state_dict` fills it with 0, and
 * many exported checkpoints lack it). Every other parameter and buffer is
 * required.
 */
export function mayBeMissing(spec: Pick<ParamSpec, "name">): boolean {
  return spec.name === "num_batches_tracked" ||
    spec.name.endsWith(".num_batches_tracked");
}

/** Internal (TensorFlow.js) shape of a parameter. */
export function internalShape(spec: ParamSpec): number[] {
  const s = spec.torchShape;
  switch (spec.layout) {
    case "linear":
      return [s[1], s[0]];
    case "conv2d":
      return [s[2], s[3], s[1], s[0]];
    case "dwconv1d":
      return [s[2], s[0]];
    case "plain":
      return [...s];
  }
}

/**
 * For each element of a parameter in PyTorch layout (row-major over
 * `torchShape`), its index in the internal layout; `null` for `plain`. The
 * one definition of the layouts, used in both directions.
 */
function internalIndex(spec: ParamSpec): Int32Array | null {
  const s = spec.torchShape;
  switch (spec.layout) {
    case "plain":
      return null;
    case "linear": {
      // [out, in] → [in, out]
      const [o, i] = s;
      const map = new Int32Array(o * i);
      for (let r = 0; r < o; r++) {
        for (let c = 0; c < i; c++) map[r * i + c] = c * o + r;
      }
      return map;
    }
    case "conv2d": {
      // [out, in, kh, kw] → [kh, kw, in, out]
      const [o, i, kh, kw] = s;
      const map = new Int32Array(o * i * kh * kw);
      for (let a = 0; a < o; a++) {
        for (let b = 0; b < i; b++) {
          for (let y = 0; y < kh; y++) {
            for (let x = 0; x < kw; x++) {
              map[((a * i + b) * kh + y) * kw + x] =
                ((y * kw + x) * i + b) * o + a;
            }
          }
        }
      }
      return map;
    }
    case "dwconv1d": {
      // [C, 1, K] → [K, C]
      const [c, , k] = s;
      const map = new Int32Array(c * k);
      for (let a = 0; a < c; a++) {
        for (let b = 0; b < k; b++) map[a * k + b] = b * c + a;
      }
      return map;
    }
  }
}

/** Converts values in PyTorch layout to the internal layout. */
export function torchToInternal(
  spec: ParamSpec,
  values: Float32Array,
): Float32Array {
  const map = internalIndex(spec);
  if (!map) return values;
  const out = new Float32Array(values.length);
  for (let t = 0; t < map.length; t++) out[map[t]] = values[t];
  return out;
}

/** Converts values in the internal layout to PyTorch layout. */
export function internalToTorch(
  spec: ParamSpec,
  values: Float32Array,
): Float32Array {
  const map = internalIndex(spec);
  if (!map) return values;
  const out = new Float32Array(values.length);
  for (let t = 0; t < map.length; t++) out[t] = values[map[t]];
  return out;
}

/**
 * A registry of declared parameters and, once {@link ParamStore.materialize}d,
 * their variables.
 */
export class ParamStore {
  /** declared parameters and buffers, in declaration order. */
  readonly specs: ParamSpec[] = [];
  /** trainable variables by name. */
  readonly params: Map<string, Variable> = new Map();
  /** buffers by name. */
  readonly buffers: Map<string, Variable> = new Map();
  #byName = new Map<string, ParamSpec>();

  /** Declares a parameter or buffer; names must be unique. */
  declare(
    name: string,
    torchShape: number[],
    layout: Layout,
    init: InitSpec,
    options: { trainable?: boolean; dtype?: "float32" | "int32" } = {},
  ): void {
    if (this.#byName.has(name)) {
      throw new Error(`parameter ${name} declared twice`);
    }
    const spec: ParamSpec = {
      name,
      torchShape,
      layout,
      init,
      trainable: options.trainable ?? true,
      dtype: options.dtype ?? "float32",
    };
    this.specs.push(spec);
    this.#byName.set(name, spec);
  }

  /** The spec of `name`, or undefined. */
  spec(name: string): ParamSpec | undefined {
    return this.#byName.get(name);
  }

  /** Number of trainable scalars declared. */
  countTrainable(prefix = ""): number {
    let n = 0;
    for (const s of this.specs) {
      if (s.trainable && s.name.startsWith(prefix)) {
        n += s.torchShape.reduce((a, b) => a * b, 1);
      }
    }
    return n;
  }

  /** Creates the variables, initialised from `seed` (one stream per name). */
  materialize(seed: number): void {
    for (const s of this.specs) {
      const rng = new StreamRng(streamSeed(seed, s.name));
      const torchValues = initValues(s.init, s.torchShape, rng);
      const shape = internalShape(s);
      const v = tf.tidy(() =>
        tf.variable(
          s.dtype === "int32"
            ? tf.tensor(Int32Array.from(torchValues), shape, "int32")
            : tf.tensor(torchToInternal(s, torchValues), shape, "float32"),
          s.trainable,
        )
      );
      (s.trainable ? this.params : this.buffers).set(s.name, v);
    }
  }

  /** The variable (parameter or buffer) named `name`. */
  get(name: string): Variable {
    const v = this.params.get(name) ?? this.buffers.get(name);
    if (!v) throw new Error(`no parameter or buffer named ${name}`);
    return v;
  }

  /** Disposes every variable. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
    this.params.clear();
    this.buffers.clear();
  }
}

/** Initialiser of PyTorch's default Linear/Conv (kaiming_uniform, a=√5). */
export function torchDefaultUniform(fanIn: number): InitSpec {
  return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
}

/** timm's `trunc_normal_(std)` with its default absolute bounds ±2. */
export function truncNormal(std = 0.02): InitSpec {
  return { kind: "truncNormal", std, a: -2, b: 2 };
}

/** Constant initialiser. */
export function constant(value: number): InitSpec {
  return { kind: "const", value };
}
