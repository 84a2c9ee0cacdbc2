import { join } from "node:path";
import { tempDir } from "./testdata/tmp.ts";
import { assert, assertEquals, assertNotEquals } from "./testdata/asserts.ts";
import {
  canonicalJson,
  decodeCachedFlow,
  encodeCachedFlow,
  FlowCache,
  hashKey,
  sampleCacheKey,
} from "./cache.ts";

Deno.test("cache files round-trip exactly and corrupt files read as absent", async () => {
  const data = Float32Array.from(
    { length: 2 * 3 * 2 },
    (_, i) => i * 0.1 - 0.55,
  );
  const enc = encodeCachedFlow({ height: 2, width: 3, channels: 2, data });
  assertEquals(decodeCachedFlow(enc), {
    height: 2,
    width: 3,
    channels: 2,
    data,
  });
  assertEquals(decodeCachedFlow(enc.subarray(0, enc.length - 1)), null);
  const cache = new FlowCache(await tempDir(), "ds");
  assertEquals(await cache.get("k"), null);
  await cache.put("k", { height: 2, width: 3, channels: 2, data });
  assertEquals((await cache.get("k"))!.data, data);
  await Deno.writeFile(cache.path("k"), new Uint8Array([1, 2, 3]));
  assertEquals(await cache.get("k"), null);
});

Deno.test("cache keys ignore object key order and change with params, id and frame stamps", async () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: 2, c: 3 } }),
    '{"a":{"c":3,"d":2},"b":1}',
  );
  assertEquals(await hashKey({ a: 1, b: 2 }), await hashKey({ b: 2, a: 1 }));
  const dir = await tempDir();
  const f = join(dir, "f.png");
  await Deno.writeFile(f, new Uint8Array([1, 2, 3]));
  const k0 = await sampleCacheKey("s", [f], { size: 32 });
  assertEquals(await sampleCacheKey("s", [f], { size: 32 }), k0);
  assertNotEquals(await sampleCacheKey("s", [f], { size: 64 }), k0);
  assertNotEquals(await sampleCacheKey("t", [f], { size: 32 }), k0);
  await Deno.writeFile(f, new Uint8Array([1, 2, 3, 4]));
  assertNotEquals(await sampleCacheKey("s", [f], { size: 32 }), k0);
  let threw = false;
  try {
    await sampleCacheKey("s", [join(dir, "missing.png")], {});
  } catch (e) {
    threw = (e as Error).message.includes("missing.png");
  }
  assert(threw);
});
