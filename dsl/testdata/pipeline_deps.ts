/**
 * The stand-in dependencies, loaded together with the real preprocessing
 * pipeline (`data/pipeline.ts`), as the project's own dependencies are: a
 * job worker that imports it must keep its own message handler.
 *
 * @module
 */
import "../../data/pipeline.ts";
export { deps } from "./stand_in_deps.ts";
