/**
 * The BLAS library's lifetime: it is loaded once per process and stays
 * loaded when handles are closed and when the Worker that opened it ends
 * (see `ffi.ts`), so OpenBLAS' destructor, which joins its thread pool and
 * releases its buffers, never runs in the middle of a run. Linux only (it
 * reads `/proc/self/maps`); skips without a BLAS library.
 */
import { equal as assertEquals, ok as assert } from "node:assert/strict";
import { loadBlas } from "./ffi.ts";

const probePath = (() => {
  const b = loadBlas({ threads: 1 });
  b?.close();
  return b?.path ?? null;
})();
const ignore = probePath === null || Deno.build.os !== "linux";

/** Whether the shared library behind `path` is mapped in this process. */
function mapped(path: string): boolean {
  const real = Deno.realPathSync(path);
  return Deno.readTextFileSync("/proc/self/maps").includes(real);
}

interface Reply {
  worst?: number;
  path?: string;
  error?: string;
}

/** Runs one `testdata/sgemm_worker.ts` to its end. */
function runWorker(seed: number, calls: number): Promise<Reply> {
  const w = new Worker(
    new URL("./testdata/sgemm_worker.ts", import.meta.url).href,
    { type: "module" },
  );
  return new Promise<Reply>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<Reply>) => resolve(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(e.message));
    };
    w.postMessage({ seed, calls });
  });
}

Deno.test({
  name:
    "closing the BLAS library, also in a Worker that then ends, leaves it loaded (no OpenBLAS teardown mid-run)",
  ignore,
  async fn() {
    const path = probePath!;
    const blas = loadBlas({ threads: 1 })!;
    blas.close();
    assert(mapped(path), `${path} was unloaded by close()`);
    const r = await runWorker(1, 2);
    assertEquals(r.error, undefined);
    // the Worker closed its handle and ended: nothing in this process holds
    // one now, yet the library (and its thread pool) must still be there
    await new Promise((res) => setTimeout(res, 50));
    assert(mapped(path), `${path} was unloaded when a Worker ended`);
  },
});

Deno.test({
  name:
    "Workers that open, use and close the BLAS library while others compute all get correct products",
  ignore,
  async fn() {
    for (let round = 0; round < 4; round++) {
      const replies = await Promise.all(
        [0, 1, 2].map((i) => runWorker(round * 3 + i + 1, 3 + i)),
      );
      for (const r of replies) {
        assertEquals(r.error, undefined);
        assert(r.worst! < 1e-3, `round ${round}: max |diff| ${r.worst}`);
      }
    }
    assert(mapped(probePath!));
  },
});
