/**
 * The stand-in dependencies on a backend that reports OpenBLAS kernels
 * (kernel set "cpu+openblas"), to mix kernel sets in one store (used by
 * scripts/run_test.ts).
 *
 * @module
 */
import type { Deps } from "../deps.ts";
import { deps as standIn } from "./stand_in_deps.ts";

/** The stand-in deps; `initBackend` reports a BLAS setting. */
export const deps: Deps = {
  ...standIn,
  initBackend: async (name) => {
    await standIn.initBackend(name);
    return {
      name,
      blas: { path: "/x/libopenblas.so", config: "", threads: 1, kernels: [] },
    };
  },
};
