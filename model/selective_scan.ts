/**
 * The selective scan used by the mixer, as one fused TensorFlow.js op
 * (`MerbaSelectiveScan`) with its own backward kernel
 * (`MerbaSelectiveScanGrad`). The kernels live in `backend/ssm/` and are
 * registered by `registerKernels()` (`initBackend` calls it); on a backend
 * without them the op runs the tensor-op reference {@link selectiveScanRef}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type ScanInputs, selectiveScanRef } from "./selective_scan_ref.ts";
import {
  SCAN_INPUT_NAMES,
  SELECTIVE_SCAN_GRAD_KERNEL,
  SELECTIVE_SCAN_KERNEL,
} from "./backend/ssm/kernels.ts";
import type { Tensor3D } from "./tensor_types.ts";

export type { ScanInputs };

/**
 * Checks ranks, shapes and dtypes of selective-scan inputs; throws an error
 * naming the offending field otherwise.
 */
export function validateScanInputs(inputs: ScanInputs): void {
  for (const name of SCAN_INPUT_NAMES) {
    const t = inputs[name];
    if (!(t instanceof tf.Tensor)) {
      throw new Error(
        `selectiveScan: input '${name}' is missing or not a tensor`,
      );
    }
    if (t.dtype !== "float32") {
      throw new Error(
        `selectiveScan: input '${name}' must be float32, got ${t.dtype}`,
      );
    }
  }
  const { u, delta, A, B, C, D, deltaBias } = inputs;
  const expectRank = (name: string, t: tf.Tensor, rank: number) => {
    if (t.rank !== rank) {
      throw new Error(
        `selectiveScan: '${name}' must have rank ${rank}, got shape [${t.shape}]`,
      );
    }
  };
  expectRank("u", u, 3);
  expectRank("delta", delta, 3);
  expectRank("A", A, 2);
  expectRank("B", B, 3);
  expectRank("C", C, 3);
  expectRank("D", D, 1);
  expectRank("deltaBias", deltaBias, 1);
  const [batch, length, dim] = u.shape;
  const state = A.shape[1];
  const expect = (name: string, t: tf.Tensor, shape: number[]) => {
    if (
      t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])
    ) {
      throw new Error(
        `selectiveScan: '${name}' must have shape [${shape}] (u is [${u.shape}], A is [${A.shape}]), got [${t.shape}]`,
      );
    }
  };
  expect("delta", delta, [batch, length, dim]);
  expect("A", A, [dim, state]);
  expect("B", B, [batch, length, state]);
  expect("C", C, [batch, length, state]);
  expect("D", D, [dim]);
  expect("deltaBias", deltaBias, [dim]);
}

/**
 * Selective scan y_t = ⟨C_t, h_t⟩ + D·u_t, h_t = exp(Δ_t·A) ⊙ h_{t−1} +
 * Δ_t·B_t·u_t with Δ = softplus(delta + deltaBias) when `deltaSoftplus`
 * (default), channels-last (see {@link selectiveScanRef}). Returns y
 * [B, L, D]; differentiable in all seven inputs.
 */
export function selectiveScan(
  inputs: ScanInputs,
  deltaSoftplus = true,
): Tensor3D {
  validateScanInputs(inputs);
  const backend = tf.getBackend();
  if (
    tf.getKernel(SELECTIVE_SCAN_KERNEL, backend) === undefined ||
    tf.getKernel(SELECTIVE_SCAN_GRAD_KERNEL, backend) === undefined
  ) {
    return selectiveScanRef(inputs, deltaSoftplus);
  }
  const named: tf.NamedTensorMap = {};
  for (const name of SCAN_INPUT_NAMES) named[name] = inputs[name];
  return tf.engine().runKernel(
    SELECTIVE_SCAN_KERNEL,
    named,
    { deltaSoftplus } as unknown as tf.NamedAttrMap,
  ) as Tensor3D;
}
