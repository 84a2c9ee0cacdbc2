/**
 * Worker for `lifetime_test.ts`: opens the BLAS library, checks a few
 * sgemm products against a naive one, closes its handle and reports.
 *
 * @module
 */
import { loadBlas } from "../ffi.ts";
import { rand } from "./rand.ts";

/** The Worker's global scope (typed as a window by the default libs). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

scope.onmessage = (e: MessageEvent<{ seed: number; calls: number }>) => {
  const { seed, calls } = e.data;
  const blas = loadBlas({ threads: 1 });
  if (!blas) {
    scope.postMessage({ error: "no BLAS library" });
    return;
  }
  let worst = 0;
  for (let c = 0; c < calls; c++) {
    const m = 24 + ((seed + c) % 17), n = 40, k = 64;
    const a = rand(m * k, seed * 31 + c), b = rand(k * n, seed * 17 + c);
    const out = new Float32Array(m * n);
    blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, out, n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let want = 0;
        for (let p = 0; p < k; p++) want += a[i * k + p] * b[p * n + j];
        worst = Math.max(worst, Math.abs(out[i * n + j] - want));
      }
    }
  }
  blas.close();
  scope.postMessage({ worst, path: blas.path });
  scope.close();
};
