/**
 * A TypeScript spec extending a YAML one (tests of `extends`).
 *
 * @module
 */
import { experiment } from "../../spec.ts";

export default experiment({
  extends: "./child.yaml",
  name: "ts-grandchild",
  dataset: { name: "synthetic-3db", imageSize: 16, options: { perClass: 2 } },
  protocol: { kind: "kfold", k: 3 },
});
