/**
 * Tests of `gpu:pack`: file pruning rules, and a real pack of the YAML
 * example spec (with a small stand-in for the Deno binary and gzip -1 so
 * that it stays fast) whose archive, manifest, checksums, shipped import map
 * and size limit are checked. The full unpack-and-run check is
 * `scripts/gpu/e2e.ts` (minutes; run by hand).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keepNpmFile, packRun } from "./pack.ts";

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(
  /\/$/,
  "",
);

Deno.test("keepNpmFile keeps code and drops maps, types, docs and browser bundles", () => {
  // yaml's compose code lives in dist/doc: nested folders named doc are code
  assert.equal(keepNpmFile("yaml", "dist/doc/directives.js"), true);
  assert.equal(keepNpmFile("yaml", "dist/index.js"), true);
  assert.equal(keepNpmFile("yaml", "dist/index.js.map"), false);
  assert.equal(keepNpmFile("yaml", "dist/index.d.ts"), false);
  assert.equal(keepNpmFile("yaml", "README.md"), false);
  assert.equal(keepNpmFile("yaml", "LICENSE"), true);
  assert.equal(keepNpmFile("x", "test/a.js"), false);
  assert.equal(keepNpmFile("x", "lib/test/a.js"), true);
  assert.equal(keepNpmFile("x", "src/a.ts"), false);
  // tfjs: the node bundles Deno loads and the non-threaded wasm binaries
  const core = "@tensorflow/tfjs-core";
  assert.equal(keepNpmFile(core, "package.json"), true);
  assert.equal(keepNpmFile(core, "dist/tf-core.node.js"), true);
  assert.equal(keepNpmFile(core, "dist/tf-core.min.js"), false);
  assert.equal(keepNpmFile(core, "dist/ops/add.js"), false);
  assert.equal(keepNpmFile(core, "src/index.ts"), false);
  const wasm = "@tensorflow/tfjs-backend-wasm";
  assert.equal(keepNpmFile(wasm, "dist/tfjs-backend-wasm-simd.wasm"), true);
  assert.equal(keepNpmFile(wasm, "dist/tfjs-backend-wasm.wasm"), true);
  assert.equal(
    keepNpmFile(wasm, "dist/tfjs-backend-wasm-threaded-simd.wasm"),
    false,
  );
  // face-api: only the node-wasm build and the two networks used
  const fa = "@vladmandic/face-api";
  assert.equal(keepNpmFile(fa, "dist/face-api.node-wasm.js"), true);
  assert.equal(keepNpmFile(fa, "dist/face-api.esm.js"), false);
  assert.equal(
    keepNpmFile(fa, "model/face_landmark_68_model.bin"),
    true,
  );
  assert.equal(keepNpmFile(fa, "model/face_recognition_model.bin"), false);
});

async function tarList(archive: string, member?: string): Promise<string[]> {
  const args = member ? ["-xOf", archive, member] : ["-tf", archive];
  const out = await new Deno.Command("tar", { args, stdout: "piped" })
    .output();
  assert.ok(out.success, `tar ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

async function standInDeno(dir: string): Promise<string> {
  const p = join(dir, "deno-stand-in");
  await Deno.writeTextFile(p, "#!/bin/sh\necho 'deno 9.9.9 (stand-in)'\n", {
    mode: 0o755,
  });
  await Deno.chmod(p, 0o755);
  return p;
}

Deno.test({
  name:
    "packRun ships the spec, the graph's sources and the npm closure within the size limit",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "pack_test_" });
    try {
      // a YAML spec outside the project goes to specs/
      const spec = join(tmp, "my_variant.yaml");
      await Deno.copyFile(
        join(root, "experiments/examples/my_variant.yaml"),
        spec,
      );
      const out = join(tmp, "a.tar");
      const { archive, manifest } = await packRun({
        root,
        spec,
        preset: "smoke",
        backend: "webgpu",
        out,
        compress: "gzip",
        level: 1,
        denoBinary: await standInDeno(tmp),
        cacheDir: join(tmp, "cache"),
      });
      assert.equal(archive, out);
      const size = (await Deno.stat(out)).size;
      assert.equal(manifest.archive.bytes, size);
      assert.ok(size <= manifest.archive.limitBytes);
      assert.equal(manifest.archive.limitBytes, 64 * 2 ** 20);
      assert.equal(manifest.deno.version, "9.9.9");
      assert.equal(manifest.spec, "specs/my_variant.yaml");
      assert.deepEqual(manifest.command.slice(-4), [
        "--preset",
        "smoke",
        "--backend",
        "webgpu",
      ]);

      // the outer archive: one folder with these members
      const members = await tarList(out);
      for (
        const m of [
          "merba-gpu/run.sh",
          "merba-gpu/MANIFEST.json",
          "merba-gpu/SHA256SUMS",
          "merba-gpu/deno.gz",
          "merba-gpu/payload.tar.gz",
        ]
      ) assert.ok(members.includes(m), `${m} missing from ${members}`);
      const shipped = JSON.parse(
        (await tarList(out, "merba-gpu/MANIFEST.json")).join("\n"),
      );
      assert.deepEqual(shipped, manifest);

      // sources: the CLI, modules loaded by computed specifiers, no tests
      for (
        const f of [
          "scripts/run.ts",
          "dsl/worker_main.ts",
          "dsl/progress.ts",
          "model/backend/runtime.ts",
          "model/selective_scan.ts",
          "scripts/bench/gpu_bench.ts",
          "scripts/bench/gpu_torch.py",
          "scripts/gpu/check.ts",
          "scripts/gpu/stage.ts",
          "scripts/gpu/correctness.ts",
          "scripts/gpu/profile.ts",
          "deno.json",
          "deno.lock",
          "specs/my_variant.yaml",
        ]
      ) assert.ok(manifest.sources.includes(f), `${f} not shipped`);
      assert.ok(!manifest.sources.some((f) => f.endsWith("_test.ts")));

      // npm: what the graph imports, with dependencies, nothing else
      const keys = manifest.packages.map((p) => p.key);
      for (
        const k of [
          "@tensorflow+tfjs-core@4.22.0",
          "@tensorflow+tfjs-backend-webgpu@4.22.0",
          "@tensorflow+tfjs-backend-wasm@4.22.0",
          "valibot@1.5.0",
          "yaml@2.9.1",
          "cli-progress@3.12.0",
          "seedrandom@3.0.5",
        ]
      ) assert.ok(keys.includes(k), `${k} not shipped`);
      assert.ok(!keys.some((k) => k.startsWith("wabt@")), "wabt is build-only");
      assert.ok("@tensorflow/tfjs" in manifest.imports);
      assert.ok(!("wabt" in manifest.imports));
      const config = JSON.parse(
        await Deno.readTextFile(join(root, "deno.json")),
      );
      for (const [k, v] of Object.entries(manifest.imports)) {
        assert.equal(config.imports[k], v);
      }

      // the payload: shipped deno.json has the reduced import map, no maps
      const payload = join(tmp, "payload");
      await Deno.mkdir(payload);
      const x = await new Deno.Command("sh", {
        args: [
          "-c",
          `tar -xOf '${out}' merba-gpu/payload.tar.gz | gzip -dc | tar -xf - -C '${payload}'`,
        ],
      }).output();
      assert.ok(x.success);
      const denoJson = JSON.parse(
        await Deno.readTextFile(join(payload, "deno.json")),
      );
      assert.deepEqual(denoJson.imports, manifest.imports);
      assert.equal(denoJson.nodeModulesDir, "auto");
      const find = await new Deno.Command("find", {
        args: [join(payload, "node_modules"), "-name", "*.map", "-type", "f"],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(find.stdout).trim(), "");
      const wasmDist = join(
        payload,
        "node_modules/.deno/@tensorflow+tfjs-backend-wasm@4.22.0/node_modules/@tensorflow/tfjs-backend-wasm/dist",
      );
      assert.ok(
        (await Deno.stat(join(wasmDist, "tfjs-backend-wasm-simd.wasm"))).isFile,
      );

      // checksums verify
      const unpack = join(tmp, "unpack");
      await Deno.mkdir(unpack);
      await new Deno.Command("tar", { args: ["-xf", out, "-C", unpack] })
        .output();
      const sums = await new Deno.Command("sha256sum", {
        args: ["-c", "--quiet", "SHA256SUMS"],
        cwd: join(unpack, "merba-gpu"),
      }).output();
      assert.ok(sums.success, "SHA256SUMS does not verify");
      const runSh = await Deno.readTextFile(join(unpack, "merba-gpu/run.sh"));
      assert.match(runSh, /--cached-only/);
      assert.match(runSh, /DENO_NO_UPDATE_CHECK=1/);
      assert.match(runSh, /PRESET='smoke'/);
      // `run.sh check` runs the GPU check from the archive
      assert.match(runSh, /bench\|determinism\|check\)/);
      assert.match(runSh, /scripts\/gpu\/check\.ts "\$@"/);
      const syntax = await new Deno.Command("sh", {
        args: ["-n", join(unpack, "merba-gpu/run.sh")],
      }).output();
      assert.ok(syntax.success, "run.sh has a shell syntax error");

      // over the limit: a clear error and no archive left behind
      const small = join(tmp, "b.tar");
      await assert.rejects(
        packRun({
          root,
          spec,
          preset: "smoke",
          backend: "webgpu",
          out: small,
          compress: "gzip",
          level: 1,
          maxMiB: 1,
          denoBinary: await standInDeno(tmp),
          cacheDir: join(tmp, "cache"),
        }),
        /over the 1 MiB limit \(--max-mib\)/,
      );
      await assert.rejects(Deno.stat(small), Deno.errors.NotFound);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("packRun rejects bad options naming the flag", async () => {
  const base = {
    root,
    spec: join(root, "experiments/table7.ts"),
    preset: "smoke",
    backend: "webgpu",
    out: "/nonexistent/never.tar",
  };
  await assert.rejects(
    packRun({ ...base, compress: "bzip2" as "xz" }),
    /--compress must be xz, gzip or zstd, got "bzip2"/,
  );
  await assert.rejects(
    packRun({ ...base, level: 12 }),
    /--level must be an integer in 1\.\.9 for xz, got 12/,
  );
  await assert.rejects(
    packRun({ ...base, spec: join(root, "experiments/nope.ts") }),
    /spec file .*nope\.ts does not exist \(--spec\)/,
  );
  await assert.rejects(
    packRun({ ...base, preset: "two words" }),
    /--preset must be a plain name/,
  );
  await assert.rejects(
    packRun({ ...base, maxMiB: 0 }),
    /--max-mib must be positive, got 0/,
  );
});
