import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { canonicalJson, hashValue } from "./hash.ts";

Deno.test("canonicalJson sorts keys at every level and drops undefined members", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }),
    '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
  );
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.equal(canonicalJson([undefined, "é"]), '[null,"é"]');
});

Deno.test("canonicalJson rejects what JSON cannot represent, naming where", () => {
  assert.throws(() => canonicalJson({ a: [1, NaN] }), /\$\.a\[1\] is NaN/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /\$\.f is a function/);
});

Deno.test("hashValue is the SHA-256 of the canonical JSON (checked against node:crypto on a known string)", async () => {
  const text = '{"a":1}';
  const viaSubtle = Array.from(
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
    ),
  )
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hashValue({ a: 1 }), viaSubtle);
  assert.equal(
    hashValue({ a: 1 }),
    createHash("sha256").update(text).digest("hex"),
  );
  assert.equal(
    createHash("sha256").update("abc").digest("hex"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});
