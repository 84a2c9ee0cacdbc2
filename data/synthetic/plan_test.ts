import { strict as assert } from "node:assert";
import { CLASSES_3, EMOTIONS_7 } from "../types.ts";
import { EMOTION_PROTOTYPES } from "./action_units.ts";
import {
  apportion,
  COMPOSITE_SOURCES,
  DFME_TABLE,
  planSyntheticDataset,
  resolveSyntheticOptions,
  type SyntheticPlan,
} from "./plan.ts";
import { makeRng } from "./rng.ts";

function plan(
  flavour: "synthetic-dfme" | "synthetic-3db",
  raw = {},
): SyntheticPlan {
  return planSyntheticDataset(flavour, resolveSyntheticOptions(flavour, raw));
}

function count<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return m;
}

Deno.test("rng: same seed and key path give the same stream, other paths differ", () => {
  const a = makeRng(5, "subject", "x");
  const b = makeRng(5, "subject", "x");
  const c = makeRng(5, "subject", "y");
  const d = makeRng(6, "subject", "x");
  const sa = Array.from({ length: 50 }, () => a.next());
  assert.deepEqual(Array.from({ length: 50 }, () => b.next()), sa);
  assert.notDeepEqual(Array.from({ length: 50 }, () => c.next()), sa);
  assert.notDeepEqual(Array.from({ length: 50 }, () => d.next()), sa);
});

Deno.test("rng: uniform, normal, pick and shuffle have the stated distributions", () => {
  const r = makeRng(1, "stats");
  const n = 40000;
  let s = 0, s2 = 0, u = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal(2, 3);
    s += z;
    s2 += z * z;
    u += r.next();
  }
  const mean = s / n;
  const sd = Math.sqrt(s2 / n - mean * mean);
  assert.ok(Math.abs(mean - 2) < 0.06, `normal mean ${mean}`);
  assert.ok(Math.abs(sd - 3) < 0.06, `normal sd ${sd}`);
  assert.ok(Math.abs(u / n - 0.5) < 0.01, `uniform mean ${u / n}`);
  const hits = [0, 0, 0];
  for (let i = 0; i < 9000; i++) hits[r.pick([1, 0, 2])]++;
  assert.equal(hits[1], 0);
  assert.ok(Math.abs(hits[2] / hits[0] - 2) < 0.2, `pick ratio ${hits}`);
  const perm = r.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...perm].sort((x, y) => x - y), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
});

Deno.test("apportion: sums to the total, is within one of proportional, honours the minimum", () => {
  for (const total of [0, 1, 7, 24, 136, 1000]) {
    for (const w of [[1856, 474, 299], DFME_TABLE.testB, [164, 145, 133]]) {
      const out = apportion(total, w);
      assert.equal(out.reduce((a, b) => a + b, 0), total);
      const sum = w.reduce((a, b) => a + b, 0);
      out.forEach((o, i) => assert.ok(Math.abs(o - (total * w[i]) / sum) < 1));
    }
  }
  assert.deepEqual(apportion(10, [100, 1, 1], 1), [8, 1, 1]);
  assert.deepEqual(apportion(2, [100, 1, 1], 1), [2, 0, 0]); // total < min·n: no minimum
});

Deno.test("synthetic-dfme default: 192 clips, 24 subjects split 17/4/3, Table II class proportions per split", () => {
  const p = plan("synthetic-dfme");
  assert.equal(p.samples.length, 192);
  assert.equal(p.subjects.length, 24);
  assert.deepEqual(p.classes, EMOTIONS_7);
  const subjectsPerSplit = count(p.subjects, (s) => s.split!);
  assert.deepEqual(Object.fromEntries(subjectsPerSplit), {
    train: 17,
    testA: 4,
    testB: 3,
  });
  for (const split of ["train", "testA", "testB"]) {
    const clips = p.samples.filter((s) => s.record.split === split);
    assert.equal(clips.length, subjectsPerSplit.get(split)! * 8);
    const byClass = count(clips, (s) => s.record.label);
    const row = DFME_TABLE[split];
    const rowSum = row.reduce((a, b) => a + b, 0);
    EMOTIONS_7.forEach((e, k) => {
      const n = byClass.get(e) ?? 0;
      assert.ok(n >= 1, `${split}: class ${e} missing`);
      assert.ok(
        Math.abs(n - (clips.length * row[k]) / rowSum) < 1.5,
        `${split}/${e}: ${n} vs ${(clips.length * row[k]) / rowSum}`,
      );
    });
  }
  // every subject has exactly samplesPerSubject clips, ids unique
  for (const [, n] of count(p.samples, (s) => s.record.subject)) {
    assert.equal(n, 8);
  }
  assert.equal(new Set(p.samples.map((s) => s.record.id)).size, 192);
});

Deno.test("synthetic-dfme testSubjects: that many of the subjects form Test A and Test B (474:299), the rest train", () => {
  const p = plan("synthetic-dfme", { subjects: 94, testSubjects: 66 });
  const subjectsPerSplit = count(p.subjects, (s) => s.split!);
  assert.deepEqual(Object.fromEntries(subjectsPerSplit), {
    train: 28,
    testA: 40,
    testB: 26,
  });
  const clips = count(p.samples, (s) => s.record.split!);
  assert.equal(clips.get("testB"), 208);
  assert.equal(clips.get("testA"), 320);
  // without the option the split stays proportional to DFME's
  const d = plan("synthetic-dfme", { subjects: 94 });
  assert.deepEqual(
    Object.fromEntries(count(d.subjects, (s) => s.split!)),
    { train: 66, testA: 17, testB: 11 },
  );
  assert.throws(
    () =>
      resolveSyntheticOptions("synthetic-dfme", {
        subjects: 10,
        testSubjects: 10,
      }),
    /option 'testSubjects' must be an integer in \[2, 9\], got 10/,
  );
  assert.throws(
    () => resolveSyntheticOptions("synthetic-3db", { testSubjects: 4 }),
    /synthetic-3db: option 'testSubjects' applies to synthetic-dfme only/,
  );
  // the default options do not name it (cache keys of existing sets unchanged)
  assert.ok(!("testSubjects" in resolveSyntheticOptions("synthetic-dfme")));
});

Deno.test("synthetic-dfme: splits are subject-disjoint and every clip renders its own label", () => {
  for (const seed of [1, 2, 3]) {
    const p = plan("synthetic-dfme", {
      seed,
      subjects: 30,
      samplesPerSubject: 5,
    });
    const splitOf = new Map<string, string>();
    for (const s of p.samples) {
      const prev = splitOf.get(s.record.subject);
      assert.ok(
        prev === undefined || prev === s.record.split,
        `${s.record.subject} in two splits`,
      );
      splitOf.set(s.record.subject, s.record.split!);
      assert.equal(s.emotion, s.record.label);
      assert.equal(s.record.source, "synthetic-dfme");
      assert.ok(s.record.subject.startsWith("synthetic-dfme/"));
    }
    assert.equal(new Set(splitOf.values()).size, 3);
  }
});

Deno.test("synthetic-3db default: 17 subjects 4/6/7, 170 clips 63/56/51, Table III class mixes, unique subjects", () => {
  const p = plan("synthetic-3db");
  assert.deepEqual(p.classes, CLASSES_3);
  assert.equal(p.samples.length, 170);
  const subjBySource = count(p.subjects, (s) => s.source);
  assert.deepEqual(Object.fromEntries(subjBySource), {
    "synthetic-smic": 4,
    "synthetic-casme2": 6,
    "synthetic-samm": 7,
  });
  const clipsBySource = count(p.samples, (s) => s.record.source);
  assert.deepEqual(Object.fromEntries(clipsBySource), {
    "synthetic-smic": 63,
    "synthetic-casme2": 56,
    "synthetic-samm": 51,
  });
  for (const src of COMPOSITE_SOURCES) {
    const clips = p.samples.filter((s) => s.record.source === src.name);
    const byClass = count(clips, (s) => s.record.label);
    const sum = src.classCounts.reduce((a, b) => a + b, 0);
    CLASSES_3.forEach((c, k) => {
      const want = (clips.length * src.classCounts[k]) / sum;
      assert.ok(Math.abs((byClass.get(c) ?? 0) - want) < 1, `${src.name}/${c}`);
    });
    // clips spread evenly over the source's subjects
    const per = [...count(clips, (s) => s.record.subject).values()];
    assert.ok(Math.max(...per) - Math.min(...per) <= 1);
  }
  const ids = p.subjects.map((s) => s.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const s of p.subjects) assert.equal(s.id, `${s.source}/${s.name}`);
  assert.deepEqual(
    p.subjects.filter((s) => s.source === "synthetic-samm").map((s) => s.name)
      .slice(0, 2),
    ["006", "007"],
  );
});

Deno.test("synthetic-3db: subject counts keep the 16:24:28 ratio at the real composite's size", () => {
  const p = plan("synthetic-3db", { subjects: 68, samplesPerSubject: 2 });
  assert.deepEqual(Object.fromEntries(count(p.subjects, (s) => s.source)), {
    "synthetic-smic": 16,
    "synthetic-casme2": 24,
    "synthetic-samm": 28,
  });
  assert.equal(new Set(p.samples.map((s) => s.record.subject)).size, 68);
});

Deno.test("synthetic-3db: negative clips render negative emotions from the source's mix, positive = happiness", () => {
  const p = plan("synthetic-3db", { subjects: 20 });
  for (const s of p.samples) {
    if (s.record.label === "positive") assert.equal(s.emotion, "happiness");
    else if (s.record.label === "surprise") assert.equal(s.emotion, "surprise");
    else {
      const src = COMPOSITE_SOURCES.find((c) => c.name === s.record.source)!;
      assert.ok(s.emotion in src.negativeMix, `${s.record.id}: ${s.emotion}`);
    }
  }
});

Deno.test("subject style: dialects contain the core units; contempt is unilateral on the preferred side mostly", () => {
  const p = plan("synthetic-dfme", { subjects: 40, samplesPerSubject: 12 });
  const dialects = new Set<string>();
  for (const sub of p.subjects) {
    for (const e of EMOTIONS_7) {
      const set = sub.style.dialect[e];
      for (const au of EMOTION_PROTOTYPES[e].core) {
        assert.ok(set.includes(au), `${sub.id}/${e}`);
      }
      assert.ok(set.length >= 1);
    }
    dialects.add(JSON.stringify(sub.style.dialect.surprise));
  }
  assert.ok(dialects.size >= 3, "subjects differ in dialect");
  let preferred = 0, total = 0;
  for (const s of p.samples.filter((x) => x.emotion === "contempt")) {
    const a = s.activations.find((x) => x.au === 14)!;
    const strong = a.left > a.right ? -1 : 1;
    assert.ok(
      Math.min(a.left, a.right) <= 0.15 * Math.max(a.left, a.right) + 1e-12,
    );
    total++;
    if (strong === s.subject.style.preferredSide) preferred++;
  }
  assert.ok(total > 10 && preferred / total > 0.7, `${preferred}/${total}`);
});

Deno.test("plans are deterministic in the seed and differ across seeds", () => {
  const a = plan("synthetic-3db", { seed: 11 });
  const b = plan("synthetic-3db", { seed: 11 });
  const c = plan("synthetic-3db", { seed: 12 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.subjects.map((s) => s.geometry),
    c.subjects.map((s) => s.geometry),
  );
});

Deno.test("options: defaults, unknown names and bad values are errors naming the option", () => {
  const d = resolveSyntheticOptions("synthetic-dfme");
  assert.deepEqual(d, {
    seed: 1,
    subjects: 24,
    samplesPerSubject: 8,
    renderSize: 64,
    intensity: 1,
    tvl1: {},
  });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ subject: 3 }, /unknown option 'subject'/],
    [
      { subjects: 2 },
      /option 'subjects' must be an integer in \[3, 10000\], got 2/,
    ],
    [{ subjects: 4.5 }, /'subjects'.*got 4\.5/],
    [{ samplesPerSubject: "8" }, /'samplesPerSubject'.*got "8"/],
    [{ renderSize: 8 }, /'renderSize'.*got 8/],
    [{ seed: -1 }, /'seed'.*got -1/],
    [{ intensity: 0 }, /'intensity' must be a number in \(0, 10\], got 0/],
    [{ tvl1: 3 }, /'tvl1' must be an object/],
    [{ tvl1: { warps: "5" } }, /'tvl1\.warps' must be a number or boolean/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => resolveSyntheticOptions("synthetic-3db", raw), re);
  }
  assert.throws(
    () => resolveSyntheticOptions("synthetic-casme", {}),
    /unknown synthetic dataset 'synthetic-casme' \(known: synthetic-dfme, synthetic-3db\)/,
  );
});
