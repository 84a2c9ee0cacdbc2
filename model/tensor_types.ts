/**
 * Documented aliases of the TensorFlow.js types that appear in the model
 * library's public API (so that `deno doc --lint` sees them as public).
 *
 * @module
 */
import type * as tfjs from "@tensorflow/tfjs";

/** A rank-0 TensorFlow.js tensor. */
export type Scalar = tfjs.Scalar;
/** A TensorFlow.js tensor of any rank. */
export type Tensor = tfjs.Tensor;
/** A rank-1 TensorFlow.js tensor. */
export type Tensor1D = tfjs.Tensor1D;
/** A rank-2 TensorFlow.js tensor. */
export type Tensor2D = tfjs.Tensor2D;
/** A rank-3 TensorFlow.js tensor. */
export type Tensor3D = tfjs.Tensor3D;
/** A rank-4 TensorFlow.js tensor. */
export type Tensor4D = tfjs.Tensor4D;
/** A TensorFlow.js variable (mutable tensor). */
export type Variable = tfjs.Variable;
