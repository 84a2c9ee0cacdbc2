import { assert, assertEquals, assertThrows } from "../testdata/asserts.ts";
import {
  DEFAULT_TVL1_OPTIONS,
  resolveTvl1Options,
  tvl1Flow,
  type Tvl1Options,
} from "./tvl1.ts";
import { endPointError, makeFlowPair } from "./synthetic_pairs.ts";
import {
  medianBlur,
  remapCubic3,
  resizeLinear,
  scaledSize,
} from "./image_ops.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);

interface FixtureCase {
  name: string;
  width: number;
  height: number;
  options: Partial<Tvl1Options>;
  offset: number;
  opencvEpe: number;
}

interface Fixture {
  opencv: string;
  cases: FixtureCase[];
  ops: {
    width: number;
    height: number;
    offset: number;
    down: { width: number; height: number; offset: number };
    up: { offset: number };
    remap: { offset: number };
    median5: { offset: number };
    median3: { offset: number };
  };
}

const fixture: Fixture = JSON.parse(
  Deno.readTextFileSync(new URL("opencv_tvl1.json", TESTDATA)),
);
const blob = Deno.readFileSync(new URL("opencv_tvl1.bin", TESTDATA));

function f32(offset: number, n: number): Float32Array {
  return new Float32Array(blob.slice(offset, offset + 4 * n).buffer);
}

function loadCase(c: FixtureCase) {
  const n = c.width * c.height;
  const prev = Float32Array.from(blob.subarray(c.offset, c.offset + n));
  const next = Float32Array.from(blob.subarray(c.offset + n, c.offset + 2 * n));
  const o = c.offset + 2 * n;
  return {
    prev,
    next,
    opencv: { u: f32(o, n), v: f32(o + 4 * n, n) },
    truth: { u: f32(o + 8 * n, n), v: f32(o + 12 * n, n) },
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("DEFAULT_TVL1_OPTIONS are OpenCV DualTVL1's defaults", () => {
  assertEquals({ ...DEFAULT_TVL1_OPTIONS }, {
    tau: 0.25,
    lambda: 0.15,
    theta: 0.3,
    nscales: 5,
    warps: 5,
    epsilon: 0.01,
    innerIterations: 30,
    outerIterations: 10,
    scaleStep: 0.8,
    gamma: 0,
    medianFiltering: 5,
    useInitialFlow: false,
  });
});

Deno.test("OpenCV primitives: resize INTER_LINEAR, remap INTER_CUBIC (BORDER_CONSTANT) and medianBlur match cv2", () => {
  const { ops } = fixture;
  const w = ops.width, h = ops.height, n = w * h;
  const img = f32(ops.offset, n);
  const dw = ops.down.width, dh = ops.down.height;
  assertEquals([scaledSize(w, 0.8), scaledSize(h, 0.8)], [dw, dh]);
  const down = resizeLinear(img, w, h, dw, dh, 1 / 0.8, 1 / 0.8);
  assert(maxAbsDiff(down, f32(ops.down.offset, dw * dh)) < 1e-4, "resize down");
  const up = resizeLinear(down, dw, dh, w, h);
  assert(maxAbsDiff(up, f32(ops.up.offset, n)) < 1e-4, "resize up");
  const u = f32(ops.remap.offset, n), v = f32(ops.remap.offset + 4 * n, n);
  const want = f32(ops.remap.offset + 8 * n, n);
  const a = new Float32Array(n),
    b = new Float32Array(n),
    c = new Float32Array(n);
  remapCubic3(img, img, img, u, v, w, h, a, b, c);
  assert(maxAbsDiff(a, want) < 1e-3, `remap: max diff ${maxAbsDiff(a, want)}`);
  assertEquals(b, a);
  const m5 = new Float32Array(n), m3 = new Float32Array(n);
  medianBlur(u, w, h, 5, m5);
  medianBlur(u, w, h, 3, m3);
  assertEquals(m5, f32(ops.median5.offset, n));
  assertEquals(m3, f32(ops.median3.offset, n));
});

// Every step (resize, remap with 1/32-pixel maps, float32 arithmetic in
// OpenCV's evaluation order, float32 sequential stopping sum, median) follows
// OpenCV, so the flows are bit-identical, with the WebAssembly SIMD kernels
// and with the JavaScript ones. The "stage_" cases stop early (few scales,
// warps, iterations) and pin down the individual steps; the others run the
// defaults (and two variants: 3×3 median + 3 warps, γ = 0.1).
Deno.test("tvl1Flow is bit-identical to OpenCV DualTVL1 on the fixture pairs (WebAssembly and JS kernels)", () => {
  for (const kernels of ["auto", "js"] as const) {
    for (const c of fixture.cases) {
      const { prev, next, opencv, truth } = loadCase(c);
      const flow = tvl1Flow(prev, next, c.width, c.height, {
        ...c.options,
        kernels,
      });
      assertEquals(flow.u, opencv.u, `${c.name} (${kernels}): u`);
      assertEquals(flow.v, opencv.v, `${c.name} (${kernels}): v`);
      const epe = endPointError(flow, truth, c.width, c.height);
      assert(
        Math.abs(epe - c.opencvEpe) < 1e-6,
        `${c.name}: EPE ${epe} vs ${c.opencvEpe}`,
      );
    }
  }
});

Deno.test("tvl1Flow recovers known sub-pixel motions on 64×64 pairs (EPE bounds)", () => {
  // Bounds sit ~2× above what OpenCV reaches on the same kind of pairs.
  const bounds = {
    translation: 0.1,
    smooth_warp: 0.25,
    local_bump: 0.15,
  } as const;
  for (const kind of ["translation", "smooth_warp", "local_bump"] as const) {
    for (const seed of [1, 2]) {
      const p = makeFlowPair(kind, 64, seed, 2);
      const flow = tvl1Flow(p.prev, p.next, 64, 64);
      const epe = endPointError(flow, p.flow, 64, 64, 4);
      assert(epe < bounds[kind], `${kind} seed ${seed}: EPE ${epe}`);
      // and a zero flow would be far off, so the bound is meaningful
      const zero = {
        u: new Float32Array(64 * 64),
        v: new Float32Array(64 * 64),
      };
      assert(
        endPointError(zero, p.flow, 64, 64, 4) > 3 * bounds[kind] ||
          kind === "local_bump",
      );
    }
  }
});

Deno.test("tvl1Flow gives exactly zero flow for identical frames", () => {
  const p = makeFlowPair("smooth_warp", 40, 3);
  const { u, v } = tvl1Flow(p.next, p.next, 40, 40);
  assertEquals(u, new Float32Array(40 * 40));
  assertEquals(v, new Float32Array(40 * 40));
});

Deno.test("tvl1Flow sign convention: content moving right/down gives u > 0 / v > 0 (prev(y,x) ≈ next(y+v, x+u))", () => {
  const w = 48, h = 40;
  const base = makeFlowPair("translation", 64, 4, 0).next;
  // next is prev shifted by (+2, +1): next(y, x) = prev(y − 1, x − 2)
  const prev = new Float32Array(w * h), next = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      prev[y * w + x] = base[(y + 10) * 64 + x + 10];
      next[y * w + x] = base[(y + 9) * 64 + x + 8];
    }
  }
  const { u, v } = tvl1Flow(prev, next, w, h);
  let su = 0, sv = 0, c = 0;
  for (let y = 6; y < h - 6; y++) {
    for (let x = 6; x < w - 6; x++) {
      su += u[y * w + x];
      sv += v[y * w + x];
      c++;
    }
  }
  assert(Math.abs(su / c - 2) < 0.1, `mean u ${su / c}`);
  assert(Math.abs(sv / c - 1) < 0.1, `mean v ${sv / c}`);
});

Deno.test("tvl1Flow is deterministic and does not modify its inputs", () => {
  const p = makeFlowPair("local_bump", 32, 9);
  const prev = p.prev.slice(), next = p.next.slice();
  const a = tvl1Flow(prev, next, 32, 32);
  const b = tvl1Flow(prev, next, 32, 32);
  assertEquals(a, b);
  assertEquals(prev, p.prev);
  assertEquals(next, p.next);
});

Deno.test("tvl1Flow with useInitialFlow starts from the given flow (coarsest scale)", () => {
  const p = makeFlowPair("translation", 48, 5, 2);
  const opts = {
    nscales: 1,
    warps: 1,
    innerIterations: 1,
    outerIterations: 1,
    medianFiltering: 0,
  };
  const fromTruth = tvl1Flow(p.prev, p.next, 48, 48, {
    ...opts,
    useInitialFlow: true,
    initialFlow: p.flow,
  });
  const fromZero = tvl1Flow(p.prev, p.next, 48, 48, opts);
  assert(
    endPointError(fromTruth, p.flow, 48, 48, 4) <
      0.5 * endPointError(fromZero, p.flow, 48, 48, 4),
    "starting at the true flow should leave one iteration much closer to it",
  );
});

Deno.test("tvl1Flow rejects bad options naming the option and value", () => {
  const img = new Float32Array(16 * 16);
  const cases: [Partial<Tvl1Options>, string][] = [
    [{ tau: 0 }, `"tau" must be a finite number > 0, got 0`],
    [{ lambda: -1 }, `"lambda" must be a finite number > 0, got -1`],
    [{ theta: NaN }, `"theta"`],
    [{ nscales: 2.5 }, `"nscales" must be an integer ≥ 1, got 2.5`],
    [{ warps: 0 }, `"warps"`],
    [{ epsilon: -0.1 }, `"epsilon" must be a finite number ≥ 0, got -0.1`],
    [{ innerIterations: 0 }, `"innerIterations"`],
    [{ outerIterations: 1.5 }, `"outerIterations"`],
    [{ scaleStep: 1 }, `"scaleStep" must be a number in (0, 1), got 1`],
    [{ gamma: -1 }, `"gamma"`],
    [
      { medianFiltering: 7 },
      `"medianFiltering" must be 0 or 1 (off), 3 or 5, got 7`,
    ],
    [
      { useInitialFlow: true },
      `"initialFlow" must be given when useInitialFlow is true`,
    ],
    [
      { nscale: 3 } as unknown as Partial<Tvl1Options>,
      `unknown option "nscale"`,
    ],
  ];
  for (const [opts, msg] of cases) {
    assertThrows(() => tvl1Flow(img, img, 16, 16, opts), msg);
    if (!("nscale" in opts)) assertThrows(() => resolveTvl1Options(opts), msg);
  }
});

Deno.test("tvl1Flow rejects bad image sizes and values naming the input", () => {
  const img = new Float32Array(20 * 10);
  assertThrows(
    () => tvl1Flow(img, img, 20, 11),
    "prev has 200 values, expected width×height = 20×11 = 220",
  );
  assertThrows(
    () => tvl1Flow(img, new Float32Array(199), 20, 10),
    "next has 199 values",
  );
  assertThrows(
    () => tvl1Flow(img, img, 2, 100),
    "width must be an integer ≥ 3, got 2",
  );
  assertThrows(
    () => tvl1Flow(img, img, 20.5, 10),
    "width must be an integer ≥ 3, got 20.5",
  );
  const bad = img.slice();
  bad[23] = NaN;
  assertThrows(
    () => tvl1Flow(img, bad, 20, 10),
    "next has a non-finite value NaN at index 23 (x=3, y=1)",
  );
  assertThrows(
    () =>
      tvl1Flow(img, img, 20, 10, {
        useInitialFlow: true,
        initialFlow: { u: img, v: new Float32Array(3) },
      }),
    `"initialFlow" must be two Float32Arrays of width×height = 200 values`,
  );
});
