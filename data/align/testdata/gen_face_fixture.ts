/**
 * Generates `face.jpg`, the alignment test fixture: one face cropped from
 * sample4.jpg shipped in the installed `@vladmandic/face-api` package
 * (MIT), shrunk to 240×240.
 *
 * Run: deno run -A data/align/testdata/gen_face_fixture.ts
 *
 * @module
 */
import sharp from "sharp";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = dirname(dirname(fileURLToPath(
  import.meta.resolve("@vladmandic/face-api/dist/face-api.node-wasm.js"),
)));
const out = join(dirname(fileURLToPath(import.meta.url)), "face.jpg");
await sharp(join(pkg, "demo", "sample4.jpg"))
  .extract({ left: 520, top: 0, width: 480, height: 480 })
  .resize({ width: 240 })
  .jpeg({ quality: 90 })
  .toFile(out);
console.log("wrote", out);
