/**
 * Kernels the MERba/MambaVision models need that TensorFlow.js lacks (or
 * gets wrong) on some backend, and differentiable helpers built for them.
 *
 * Importing this module registers the provided kernels with TensorFlow.js
 * for every backend that lacks them; registration is idempotent.
 *
 * @module
 */
export { invertPermutation, permute } from "./permute.ts";
