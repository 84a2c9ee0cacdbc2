import assert from "node:assert/strict";
import { readSafetensors } from "../model/safetensors.ts";

const TD = new URL("../model/testdata/", import.meta.url).pathname;
const FWD = new URL("./forward.ts", import.meta.url).pathname;
const PARAMS = new URL("./params.ts", import.meta.url).pathname;

async function run(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("forward CLI on wasm reproduces the PyTorch fixture's DGCM logits and NCHW features", async () => {
  const dir = await Deno.makeTempDir();
  const r = await run(FWD, [
    "--config",
    `${TD}merba_tiny.config.json`,
    "--weights",
    `${TD}merba_tiny.weights.safetensors`,
    "--input",
    `${TD}merba_tiny.io.safetensors`,
    "--out",
    `${dir}/y.safetensors`,
    "--features",
    "--backend",
    "wasm",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = (await readSafetensors(`${dir}/y.safetensors`)).tensors;
  const ref = (await readSafetensors(`${TD}merba_tiny.io.safetensors`)).tensors;
  assert.deepEqual([...got.keys()].sort(), [
    "coarse",
    "features.0",
    "features.1",
    "features.2",
    "features.3",
    "fine",
  ]);
  for (const k of got.keys()) {
    assert.deepEqual(got.get(k)!.shape, ref.get(k)!.shape, k);
    const a = got.get(k)!.data, b = ref.get(k)!.data;
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    assert.ok(worst < 1e-4, `${k}: max |diff| ${worst}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("forward CLI rejects bad flags, missing files and mismatched weights with clear messages", async () => {
  let r = await run(FWD, [
    "--weights",
    "w",
    "--input",
    "x",
    "--out",
    "y",
    "--backend",
    "gpu",
  ]);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /--backend: expected one of wasm, cpu, webgpu, tensorflow, got gpu/,
  );
  r = await run(FWD, ["--input", "x", "--out", "y"]);
  assert.match(r.stderr, /--weights is required/);
  r = await run(FWD, [
    "--weights",
    "/nonexistent.safetensors",
    "--input",
    "x",
    "--out",
    "y",
    "--backend",
    "cpu",
  ]);
  assert.match(r.stderr, /\/nonexistent.safetensors: cannot read/);
  r = await run(FWD, [
    "--config",
    `${TD}mambavision_tiny.config.json`,
    "--weights",
    `${TD}merba_tiny.weights.safetensors`,
    "--input",
    `${TD}merba_tiny.io.safetensors`,
    "--out",
    "/tmp/never.safetensors",
    "--backend",
    "cpu",
  ]);
  assert.match(
    r.stderr,
    /merba_tiny.weights.safetensors: missing keys levels.1.blocks.0.conv1.weight/,
  );
});

Deno.test("params CLI prints MERba and MambaVision-B totals and validates --config", async () => {
  const r = await run(PARAMS, ["--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; total: number }[];
  const mv = rows.find((x) => x.name === "MambaVision-B (linear, 7)")!;
  assert.equal(mv.total, 96_666_887);
  assert.ok(rows.some((x) => x.name === "MERba (DGCM)"));
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bad.json`,
    JSON.stringify({ family: "merba", windowSize: 5 }),
  );
  const bad = await run(PARAMS, ["--config", `${dir}/bad.json`]);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /windowSize: expected a window that tiles the 28×28 map, got 5 \(in .*bad.json\)/,
  );
  await Deno.remove(dir, { recursive: true });
});
