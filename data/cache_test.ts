import { join } from "node:path";
import { createHash } from "node:crypto";
import { tempDir } from "./testdata/tmp.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "./testdata/asserts.ts";
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

/** An old-format (`MFLW`, no checksum) cache file of `data` (HWC float32). */
function oldFormatFile(h: number, w: number, c: number, data: number[]) {
  const buf = new Uint8Array(16 + 4 * data.length);
  const dv = new DataView(buf.buffer);
  [0x4d, 0x46, 0x4c, 0x57].forEach((b, i) => dv.setUint8(i, b));
  dv.setUint32(4, h, true);
  dv.setUint32(8, w, true);
  dv.setUint32(12, c, true);
  data.forEach((x, i) => dv.setFloat32(16 + 4 * i, x, true));
  return buf;
}

Deno.test("a cache file whose content does not match its checksum is recomputed, with a notice naming the file", async () => {
  const notices: string[] = [];
  const cache = new FlowCache(
    await tempDir(),
    "ds",
    { onNotice: (m) => notices.push(m) },
  );
  const data = Float32Array.from([0.5, -1, 2, 0.25]);
  await cache.put("k", { height: 1, width: 2, channels: 2, data });
  const bytes = await Deno.readFile(cache.path("k"));
  // garbage in the data section, the header left valid: a NaN and a flipped byte
  const dv = new DataView(bytes.buffer);
  dv.setFloat32(bytes.length - 4, NaN, true);
  bytes[bytes.length - 9] ^= 0x40;
  await Deno.writeFile(cache.path("k"), bytes);
  assertEquals(await cache.get("k"), null);
  assertEquals(notices.length, 1);
  assert(notices[0].includes(cache.path("k")), notices[0]);
  assert(/checksum/.test(notices[0]), notices[0]);
  assert(/recomput/.test(notices[0]), notices[0]);
  // the recomputed entry is written over it and read back
  await cache.put("k", { height: 1, width: 2, channels: 2, data });
  assertEquals((await cache.get("k"))!.data, data);
});

Deno.test("old-format cache files (no checksum) are recomputed, with one notice per cache folder", async () => {
  const notices: string[] = [];
  const cache = new FlowCache(
    await tempDir(),
    "ds",
    { onNotice: (m) => notices.push(m) },
  );
  await Deno.mkdir(cache.dir, { recursive: true });
  await Deno.writeFile(cache.path("a"), oldFormatFile(1, 1, 2, [1, NaN]));
  await Deno.writeFile(cache.path("b"), oldFormatFile(1, 1, 2, [1, 2]));
  assertEquals(await cache.get("a"), null);
  assertEquals(await cache.get("b"), null);
  assertEquals(notices.length, 1, notices.join("\n"));
  assert(notices[0].includes(cache.dir), notices[0]);
  assert(/older format/.test(notices[0]), notices[0]);
});

Deno.test("non-finite flow values are refused when written and when read", () => {
  const data = Float32Array.from([1, 2]);
  assertThrows(
    () =>
      encodeCachedFlow({
        height: 1,
        width: 1,
        channels: 2,
        data: Float32Array.from([1, Infinity]),
      }),
    "non-finite value Infinity at index 1",
  );
  // a file with a valid checksum over a NaN (written by other code)
  const enc = encodeCachedFlow({ height: 1, width: 1, channels: 2, data });
  const body = enc.subarray(enc.length - 8);
  new DataView(body.buffer, body.byteOffset).setFloat32(4, NaN, true);
  const sum = createHash("sha256").update(body).digest();
  enc.set(sum, enc.length - 8 - 32);
  assertEquals(decodeCachedFlow(enc), null);
});
