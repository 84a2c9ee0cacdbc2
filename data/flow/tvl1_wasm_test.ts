import { assert, assertEquals } from "../testdata/asserts.ts";
import { assembleTvl1Wat } from "./build_wasm.ts";
import { TVL1_SIMD_WASM_BASE64 } from "./tvl1_simd_wasm.ts";
import { tvl1Wasm, Tvl1WasmArena } from "./tvl1_wasm.ts";
import { tvl1Flow } from "./tvl1.ts";
import { makeFlowPair } from "./synthetic_pairs.ts";

Deno.test("the embedded TV-L1 WebAssembly binary is the assembled tvl1_simd.wat", async () => {
  const built = await assembleTvl1Wat();
  const s = atob(TVL1_SIMD_WASM_BASE64);
  const embedded = Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  assertEquals(embedded, built, "run: deno run -A data/flow/build_wasm.ts");
  assert(tvl1Wasm() !== null, "this runtime supports WebAssembly SIMD");
});

Deno.test("WebAssembly SIMD and JavaScript kernels give identical bits, including row remainders and reused memory", () => {
  // widths that are not multiples of 4 exercise the scalar tails; a larger
  // image first, then smaller ones, reuses (and a still larger one grows)
  // the module memory.
  const sizes: [number, number][] = [[37, 29], [23, 17], [16, 16], [9, 40], [
    61,
    45,
  ]];
  let seed = 40;
  for (const [w, h] of sizes) {
    const side = Math.max(w, h);
    const p = makeFlowPair("smooth_warp", side, seed++, 1.5);
    const crop = (img: Float32Array) => {
      const out = new Float32Array(w * h);
      for (let y = 0; y < h; y++) {
        out.set(img.subarray(y * side, y * side + w), y * w);
      }
      return out;
    };
    const prev = crop(p.prev), next = crop(p.next);
    for (const opts of [{}, { nscales: 2, warps: 2, medianFiltering: 3 }]) {
      const a = tvl1Flow(prev, next, w, h, { ...opts, kernels: "auto" });
      const b = tvl1Flow(prev, next, w, h, { ...opts, kernels: "js" });
      assertEquals(a.u, b.u, `${w}×${h} ${JSON.stringify(opts)}: u`);
      assertEquals(a.v, b.v, `${w}×${h} ${JSON.stringify(opts)}: v`);
      let moved = 0;
      for (const x of a.u) moved += Math.abs(x);
      assert(moved > 0, "the flow is not trivially zero");
    }
  }
});

Deno.test("WebAssembly median5 equals a sort-based 5×5 median with replicated borders", () => {
  const mod = tvl1Wasm()!;
  let s = 11;
  const rnd =
    () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (const [w, h] of [[3, 3], [5, 7], [13, 6], [16, 16], [33, 21]]) {
    for (const kind of ["random", "ties"]) {
      const img = Float32Array.from(
        { length: w * h },
        () => kind === "ties" ? Math.floor(rnd() * 3) : rnd() * 8 - 4,
      );
      const arena = new Tvl1WasmArena(mod, [
        w * h,
        w * h,
        (w + 12) * (h + 4),
        5 * (w + 12),
      ]);
      const [src, dst] = arena.views;
      src.set(img);
      mod.median5(
        arena.offsets[0],
        arena.offsets[1],
        w,
        h,
        arena.offsets[2],
        arena.offsets[3],
      );
      const want = new Float32Array(w * h);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const vals: number[] = [];
          for (let dy = -2; dy <= 2; dy++) {
            for (let dx = -2; dx <= 2; dx++) {
              const yy = Math.min(Math.max(y + dy, 0), h - 1);
              const xx = Math.min(Math.max(x + dx, 0), w - 1);
              vals.push(img[yy * w + xx]);
            }
          }
          vals.sort((a, b) => a - b);
          want[y * w + x] = vals[12];
        }
      }
      assertEquals(Array.from(dst), Array.from(want), `${w}×${h} ${kind}`);
    }
  }
});
