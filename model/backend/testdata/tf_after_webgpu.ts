/**
 * Test helper run in a fresh process: starts WebGPU, then asks for the
 * tensorflow backend; prints the error and exits with 3 (a crash would be
 * a signal instead).
 *
 * @module
 */
import { initBackend, webgpuAvailable } from "../runtime.ts";

if (!(await webgpuAvailable())) {
  console.log("no WebGPU adapter");
  Deno.exit(2);
}
try {
  await initBackend("tensorflow");
  console.log("loaded");
  Deno.exit(0);
} catch (e) {
  console.log((e as Error).message);
  Deno.exit(3);
}
