import assert from "node:assert/strict";
import {
  fmix32Words,
  keyedAleaRng,
  Rng,
  splitmix32Words,
  StreamRng,
  streamSeed,
  Xoshiro128,
} from "./mod.ts";

Deno.test("Rng and StreamRng are one generator (xoshiro128**) under two seedings", () => {
  for (const seed of [0, 1, 42, 2 ** 32 + 3]) {
    const a = new Rng(seed), core = new Xoshiro128(splitmix32Words(seed));
    const b = new StreamRng(seed), core2 = new Xoshiro128(fmix32Words(seed));
    for (let i = 0; i < 100; i++) {
      assert.deepEqual(a.nextUint32(), core.nextUint32());
      assert.deepEqual(b.nextUint32(), core2.nextUint32());
    }
  }
  // the seedings differ: the streams are not the same numbers
  assert.notDeepEqual(new Rng(7).nextUint32(), new StreamRng(7).nextUint32());
});

Deno.test("an all-zero state is replaced (the generator's fixpoint)", () => {
  const r = new Xoshiro128([0, 0, 0, 0]);
  assert.notDeepEqual(r.nextUint32() + r.nextUint32(), 0);
});

Deno.test("streamSeed: names give independent, reproducible seeds", () => {
  assert.deepEqual(streamSeed(3, "a"), streamSeed(3, "a"));
  assert.notDeepEqual(streamSeed(3, "a"), streamSeed(3, "b"));
  assert.notDeepEqual(streamSeed(3, "a"), streamSeed(4, "a"));
});

Deno.test("keyedAleaRng: a key path owns its stream", () => {
  const a = keyedAleaRng("ns", 1, "subject", 3);
  const b = keyedAleaRng("ns", 1, "subject", 3);
  const c = keyedAleaRng("ns", 1, "subject", 4);
  const xs = [a.next(), a.next()];
  assert.deepEqual(xs, [b.next(), b.next()]);
  assert.notDeepEqual(xs[0], c.next());
});
