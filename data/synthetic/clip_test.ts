import { strict as assert } from "node:assert";
import { tvl1Flow } from "../flow/mod.ts";
import {
  activationKernels,
  auKernels,
  displacementAt,
  displacementJacobianAt,
  invertWarp,
} from "./action_units.ts";
import { renderSyntheticClip, syntheticTrueMotion } from "./clip.ts";
import {
  planSyntheticDataset,
  resolveSyntheticOptions,
  type SyntheticSamplePlan,
} from "./plan.ts";

const SIZE = 64;
const opts = resolveSyntheticOptions("synthetic-dfme", {
  seed: 4,
  subjects: 12,
  samplesPerSubject: 10,
});
const plan = planSyntheticDataset("synthetic-dfme", opts);

/** Canonical → pixel for the clip's onset pose. */
function toPixel(
  s: SyntheticSamplePlan,
  x: number,
  y: number,
): [number, number] {
  const p = s.pose0;
  const c = Math.cos(p.roll), sn = Math.sin(p.roll);
  const sc = p.scale * SIZE;
  return [
    (0.5 + p.ox) * SIZE - 0.5 + sc * (c * x - sn * y),
    (0.5 + p.oy) * SIZE - 0.5 + sc * (sn * x + c * y),
  ];
}

/** Mean |flow − median flow| in a disc (canonical centre and radius). */
function regionMotion(
  s: SyntheticSamplePlan,
  u: Float32Array,
  v: Float32Array,
  cx: number,
  cy: number,
  r: number,
): number {
  const med = (a: Float32Array) => [...a].sort((p, q) => p - q)[a.length >> 1];
  const mu = med(u), mv = med(v);
  const [px, py] = toPixel(s, cx, cy);
  const rp = r * s.pose0.scale * SIZE;
  let acc = 0, n = 0;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      if (Math.hypot(x - px, y - py) > rp) continue;
      const i = y * SIZE + x;
      acc += Math.hypot(u[i] - mu, v[i] - mv);
      n++;
    }
  }
  return acc / n;
}

Deno.test("renderSyntheticClip: same seed gives identical bytes, another seed different ones", () => {
  const s = plan.samples[3];
  const a = renderSyntheticClip(s, SIZE, opts.seed);
  const b = renderSyntheticClip(s, SIZE, opts.seed);
  assert.deepEqual(a.onset, b.onset);
  assert.deepEqual(a.apex, b.apex);
  assert.equal(a.onset.length, SIZE * SIZE);
  const other = planSyntheticDataset(
    "synthetic-dfme",
    resolveSyntheticOptions("synthetic-dfme", { ...opts, seed: 5 }),
  );
  const c = renderSyntheticClip(other.samples[3], SIZE, 5);
  assert.notDeepEqual(c.onset, a.onset);
  // onset and apex differ, but only slightly (a micro-expression)
  let diff = 0;
  for (let i = 0; i < a.onset.length; i++) {
    diff += Math.abs(a.onset[i] - a.apex[i]);
  }
  assert.ok(
    diff / a.onset.length > 0.5 && diff / a.onset.length < 12,
    `mean |apex−onset| ${diff / a.onset.length}`,
  );
});

Deno.test("renderSyntheticClip: the face is drawn (brighter oval, dark features) and subjects differ", () => {
  const s = plan.samples[0];
  const { onset } = renderSyntheticClip(s, SIZE, opts.seed);
  const at = (x: number, y: number) => {
    const [px, py] = toPixel(s, x, y);
    return onset[Math.round(py) * SIZE + Math.round(px)];
  };
  const g = s.subject.geometry;
  assert.ok(
    at(0, 0.05) > s.subject.appearance.background + 20,
    "cheek/nose skin brighter than background",
  );
  assert.ok(
    at(0.05, g.mouthY) < at(0.05, g.mouthY - 0.12) - 15,
    "mouth line darker than the skin above",
  );
  assert.ok(
    at(g.eyeX + 0.02, g.eyeY - g.browGap - g.browArch) <
      at(g.eyeX + 0.02, g.eyeY - g.browGap + 0.1) - 15,
    "brow darker",
  );
  const s2 = plan.samples.find((x) => x.record.subject !== s.record.subject)!;
  assert.notDeepEqual(renderSyntheticClip(s2, SIZE, opts.seed).onset, onset);
});

Deno.test("action units: kernels move the named landmarks the FACS way and vanish far away", () => {
  const g = plan.subjects[0].geometry;
  const d = new Float64Array(2);
  // AU12 at the right mouth corner: outwards (+x) and up (−y)
  displacementAt(auKernels(12, 1, g), g.mouthHalfW, g.mouthY, d);
  assert.ok(d[0] > 0.01 && d[1] < -0.01, `AU12 ${d}`);
  // AU15: corner down
  displacementAt(auKernels(15, -1, g), -g.mouthHalfW, g.mouthY + 0.03, d);
  assert.ok(d[1] > 0.02, `AU15 ${d}`);
  // AU1: inner brow up; AU4: brow down and towards the midline
  displacementAt(auKernels(1, 1, g), g.eyeX - 0.13, g.eyeY - g.browGap, d);
  assert.ok(d[1] < -0.02, `AU1 ${d}`);
  displacementAt(auKernels(4, 1, g), g.eyeX - 0.08, g.eyeY - g.browGap, d);
  assert.ok(d[1] > 0.02 && d[0] < -0.01, `AU4 ${d}`);
  // AU26: chin down; nothing at the forehead
  displacementAt(auKernels(26, 1, g), 0, g.mouthY + g.lipLower + 0.12, d);
  assert.ok(d[1] > 0.03, `AU26 ${d}`);
  displacementAt(auKernels(26, 1, g), 0, -0.8, d);
  assert.ok(Math.hypot(d[0], d[1]) < 1e-6);
  // unilateral activation: no motion on the other side
  const k = activationKernels([{ au: 14, left: 0, right: 1 }], g);
  displacementAt(k, -g.mouthHalfW, g.mouthY, d);
  assert.ok(Math.hypot(d[0], d[1]) < 1e-4);
  displacementAt(k, g.mouthHalfW, g.mouthY, d);
  assert.ok(Math.hypot(d[0], d[1]) > 0.02);
});

Deno.test("rendered apex moves the face by the declared field: TV-L1 on the frames matches the true motion", () => {
  let epe = 0, mag = 0, n = 0;
  for (const s of plan.samples.slice(0, 6)) {
    const c = renderSyntheticClip(s, SIZE, opts.seed);
    const f = tvl1Flow(
      Float32Array.from(c.onset),
      Float32Array.from(c.apex),
      SIZE,
      SIZE,
    );
    const t = syntheticTrueMotion(s, SIZE);
    const [cx, cy] = toPixel(s, 0, 0);
    const rx = 0.8 * s.pose0.scale * SIZE;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        if (Math.hypot(x - cx, (y - cy) / 1.2) > rx) continue;
        const i = y * SIZE + x;
        epe += Math.hypot(f.u[i] - t.u[i], f.v[i] - t.v[i]);
        mag += Math.hypot(t.u[i], t.v[i]);
        n++;
      }
    }
  }
  // measured: EPE ≈ 0.11 px for a mean true motion ≈ 0.30 px; a sign or
  // convention error gives EPE ≈ 1.7× the motion (checked).
  assert.ok(mag / n > 0.1, `mean true motion ${mag / n}`);
  assert.ok(epe / mag < 0.5, `EPE ${epe / n} vs motion ${mag / n}`);
});

Deno.test("flows are non-trivial where the action units are: happiness moves the mouth, surprise the brows", () => {
  const stats = { happiness: [0, 0], surprise: [0, 0] } as Record<
    string,
    number[]
  >;
  for (
    const s of plan.samples.filter((x) =>
      x.emotion === "happiness" || x.emotion === "surprise"
    ).slice(0, 8)
  ) {
    const c = renderSyntheticClip(s, SIZE, opts.seed);
    const f = tvl1Flow(
      Float32Array.from(c.onset),
      Float32Array.from(c.apex),
      SIZE,
      SIZE,
    );
    const g = s.subject.geometry;
    const mouth = (regionMotion(s, f.u, f.v, -g.mouthHalfW, g.mouthY, 0.15) +
      regionMotion(s, f.u, f.v, g.mouthHalfW, g.mouthY, 0.15)) / 2;
    const brows =
      (regionMotion(s, f.u, f.v, -g.eyeX, g.eyeY - g.browGap, 0.15) +
        regionMotion(s, f.u, f.v, g.eyeX, g.eyeY - g.browGap, 0.15)) / 2;
    const forehead = regionMotion(s, f.u, f.v, 0, -0.75, 0.12);
    const st = stats[s.emotion];
    st[0] += s.emotion === "happiness"
      ? mouth / Math.max(brows, forehead)
      : brows / forehead;
    st[1]++;
  }
  assert.ok(stats.happiness[1] >= 2 && stats.surprise[1] >= 2);
  const h = stats.happiness[0] / stats.happiness[1];
  const sp = stats.surprise[0] / stats.surprise[1];
  assert.ok(h > 1.5, `happiness mouth/elsewhere ${h}`);
  assert.ok(sp > 1.5, `surprise brows/forehead ${sp}`);
});

Deno.test("warp: the Jacobian matches finite differences and the inversion recovers the neutral point", () => {
  const k = activationKernels(
    plan.samples[5].activations,
    plan.samples[5].subject.geometry,
  )
    .concat(
      activationKernels([{ au: 12, left: 2, right: 2.5 }, {
        au: 5,
        left: 2.5,
        right: 2,
      }], plan.subjects[0].geometry),
    );
  const j = new Float64Array(6),
    p = new Float64Array(2),
    m = new Float64Array(2),
    o = new Float64Array(3);
  const h = 1e-6;
  for (
    const [x, y] of [[0.3, 0.6], [-0.35, -0.25], [0.1, -0.4], [0.42, -0.2]]
  ) {
    displacementJacobianAt(k, x, y, j);
    displacementAt(k, x, y, p);
    assert.ok(Math.abs(j[0] - p[0]) < 1e-15 && Math.abs(j[1] - p[1]) < 1e-15);
    displacementAt(k, x + h, y, p);
    displacementAt(k, x - h, y, m);
    assert.ok(Math.abs(j[2] - (p[0] - m[0]) / (2 * h)) < 1e-6);
    assert.ok(Math.abs(j[4] - (p[1] - m[1]) / (2 * h)) < 1e-6);
    displacementAt(k, x, y + h, p);
    displacementAt(k, x, y - h, m);
    assert.ok(Math.abs(j[3] - (p[0] - m[0]) / (2 * h)) < 1e-6);
    assert.ok(Math.abs(j[5] - (p[1] - m[1]) / (2 * h)) < 1e-6);
  }
  // every clip's warp is invertible on the face (det > 0) and inverted to 1e-6
  let minDet = Infinity, maxErr = 0;
  for (const s of plan.samples) {
    const ks = activationKernels(s.activations, s.subject.geometry);
    for (let y = -1.3; y < 1.3; y += 0.05) {
      for (let x = -1; x < 1; x += 0.05) {
        displacementJacobianAt(ks, x, y, j);
        minDet = Math.min(minDet, (1 + j[2]) * (1 + j[5]) - j[3] * j[4]);
        invertWarp(ks, x + j[0], y + j[1], o);
        maxErr = Math.max(maxErr, Math.hypot(o[0] - x, o[1] - y));
      }
    }
  }
  assert.ok(minDet > 0.1, `min det ${minDet}`);
  assert.ok(maxErr < 1e-6, `max inversion error ${maxErr}`);
});
