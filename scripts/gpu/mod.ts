/**
 * The GPU path: packing a run for an offline GPU machine ({@link packRun},
 * CLI `deno task gpu:pack`), and the bit-exactness probe of a backend
 * ({@link distinctResults}, {@link matmulRuns}, {@link stepResult}; CLI
 * `scripts/gpu/determinism.ts`). See docs/gpu.md.
 *
 * @module
 */
export {
  type Compressor,
  ENTRY_ROOTS,
  EXTRA_FILES,
  keepNpmFile,
  type ModuleGraph,
  moduleGraph,
  npmClosure,
  PACKAGE_KEEP,
  type PackedPackage,
  type PackManifest,
  type PackOptions,
  type PackResult,
  packRun,
  runScript,
} from "./pack.ts";
export { distinctResults, matmulRuns, stepResult } from "./determinism.ts";
export { offlineWrapper } from "./e2e.ts";
