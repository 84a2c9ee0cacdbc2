/**
 * The selective scan used by the mixer. Until the fused kernel lands this
 * delegates to the tensor-op reference.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type SelectiveScanInputs, selectiveScanRef } from "./selective_scan_ref.ts";

export type { SelectiveScanInputs };

/** Selective scan, channels-last; see {@link selectiveScanRef} for the semantics. */
export function selectiveScan(
  inputs: SelectiveScanInputs,
  deltaSoftplus = true,
): tf.Tensor3D {
  return selectiveScanRef(inputs, deltaSoftplus);
}
