/**
 * The stand-in dependencies, plus a module-level side effect like the one
 * in `data/pipeline.ts`: when loaded inside a Worker it installs its own
 * `onmessage` handler that answers every message with an error. The job
 * worker must take its handler back and ignore these replies.
 *
 * @module
 */
// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (
  typeof scope.WorkerGlobalScope !== "undefined" &&
  scope instanceof scope.WorkerGlobalScope
) {
  scope.onmessage = () =>
    scope.postMessage({ type: "error", message: "not for me" });
  scope.postMessage({ type: "error", message: "stray message at import" });
}
export { deps } from "./stand_in_deps.ts";
