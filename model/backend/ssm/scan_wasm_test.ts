import assert from "node:assert/strict";
import { assembleScanWat } from "./build_wasm.ts";
import { decodeBase64 } from "./base64.ts";
import { SCAN_SIMD_WASM_BASE64 } from "./scan_simd_wasm.ts";
import {
  fastExp,
  scanBackward,
  type ScanDims,
  scanForward,
} from "./scan_js.ts";
import {
  scanBackwardWasm,
  scanForwardWasm,
  wasmScanOptions,
} from "./scan_wasm.ts";

Deno.test("committed scan_simd_wasm.ts is the assembly of scan_simd.wat", async () => {
  const assembled = await assembleScanWat();
  const committed = decodeBase64(SCAN_SIMD_WASM_BASE64);
  assert.deepStrictEqual(
    committed,
    assembled,
    "scan_simd_wasm.ts is stale: run deno run -A model/backend/ssm/build_wasm.ts",
  );
});

Deno.test("fastExp matches Math.exp to 1e-13 relative over the scan's range", () => {
  let worst = 0;
  for (let x = -120; x <= 60; x += 0.0137) {
    worst = Math.max(worst, Math.abs(fastExp(x) / Math.exp(x) - 1));
  }
  assert.ok(worst < 1e-13, `worst relative error ${worst}`);
  assert.equal(fastExp(-1000), 0);
  assert.equal(fastExp(1000), Infinity);
  assert.ok(Number.isNaN(fastExp(NaN)));
});

function arrays(dims: ScanDims, seed: number) {
  const { batch: b, length: l, dim: d, state: n } = dims;
  let s = seed;
  const r = (k: number, scale = 1) =>
    Float32Array.from({ length: k }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return (2 * s / 2147483648 - 1) * scale;
    });
  return {
    u: r(b * l * d),
    delta: r(b * l * d, 3),
    A: r(d * n, 1.5).map((v) => -Math.exp(v)),
    B: r(b * l * n),
    C: r(b * l * n),
    D: r(d),
    deltaBias: r(d),
  };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / (den || 1);
}

Deno.test("SIMD scan matches the JS loops, including padded channels, batch chunks and reused, grown memory", () => {
  // large first, then small (stale memory must not leak), then D % 4 ≠ 0
  // chunkBytes: null = default (one chunk); small values force batch chunks
  // (a row of the 5-row case needs ~0.5 KB forward, ~1.2 KB backward).
  const cases: [ScanDims, boolean, number | null][] = [
    [{ batch: 8, length: 49, dim: 64, state: 16 }, true, null],
    [{ batch: 1, length: 1, dim: 1, state: 1 }, true, null],
    [{ batch: 3, length: 11, dim: 9, state: 5 }, false, null],
    [{ batch: 2, length: 30, dim: 6, state: 8 }, true, null],
    [{ batch: 5, length: 7, dim: 6, state: 3 }, true, 2500],
    [{ batch: 5, length: 7, dim: 6, state: 3 }, false, 1],
  ];
  const defaultChunk = wasmScanOptions.chunkBytes;
  for (const [dims, softplus, chunkBytes] of cases) {
    wasmScanOptions.chunkBytes = chunkBytes ?? defaultChunk;
    const x = arrays(dims, 7 + dims.dim);
    const size = dims.batch * dims.length * dims.dim;
    const y1 = new Float32Array(size), y2 = new Float32Array(size);
    scanForward(x, dims, softplus, y1);
    scanForwardWasm(x, dims, softplus, y2);
    assert.ok(relErr(y2, y1) < 2e-6, `forward ${JSON.stringify(dims)}`);
    const grads = () => ({
      u: new Float32Array(size),
      delta: new Float32Array(size),
      A: new Float32Array(dims.dim * dims.state),
      B: new Float32Array(dims.batch * dims.length * dims.state),
      C: new Float32Array(dims.batch * dims.length * dims.state),
      D: new Float32Array(dims.dim),
      deltaBias: new Float32Array(dims.dim),
    });
    const g1 = grads(), g2 = grads();
    const dy = arrays(dims, 99).u;
    scanBackward(x, dy, dims, softplus, g1);
    scanBackwardWasm(x, dy, dims, softplus, g2);
    for (const k of Object.keys(g1) as (keyof typeof g1)[]) {
      const e = relErr(g2[k], g1[k]);
      assert.ok(e < 1e-5, `d${k} ${JSON.stringify(dims)}: ${e}`);
    }
  }
  wasmScanOptions.chunkBytes = defaultChunk;
});

Deno.test("SIMD scan's exp handles underflow and softplus' extremes", () => {
  // Δ·A far below −87 (decay underflows to 0) and |delta| > 20 (softplus
  // linear / exp tail) must stay finite and agree with the JS loops.
  const dims = { batch: 1, length: 4, dim: 4, state: 2 };
  const x = arrays(dims, 3);
  x.delta.set([
    30,
    -30,
    25,
    -40,
    50,
    0.5,
    -0.5,
    100,
    20,
    -20,
    1,
    2,
    3,
    4,
    5,
    6,
  ]);
  x.A.set([-50, -1, -3, -0.5, -200, -2, -1, -1]);
  const y1 = new Float32Array(16), y2 = new Float32Array(16);
  scanForward(x, dims, true, y1);
  scanForwardWasm(x, dims, true, y2);
  assert.ok(y2.every(Number.isFinite));
  assert.ok(relErr(y2, y1) < 2e-6, `forward error ${relErr(y2, y1)}`);
});
