/**
 * Every paper experiment's `smoke` preset runs end to end through the CLI
 * twice, into two fresh run folders, and the two reports must be identical
 * byte for byte (tables, CSV, JSON, confusion matrices, curves): the CI proof
 * that the same spec, seed and backend give the same numbers.
 */
import { strict as assert } from "node:assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { realEngineEnv, reportFiles } from "../scripts/testing.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Specs whose smoke preset CI runs. */
const SPECS = [
  "experiments/table4.ts",
  "experiments/table5.ts",
  "experiments/table6.ts",
  "experiments/table7.ts",
  "experiments/dgcm_ablation.ts",
  "experiments/table7.yaml",
];

async function runSmoke(spec: string, out: string): Promise<void> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "scripts/run.ts"),
      join(ROOT, spec),
      "--preset",
      "smoke",
      "--backend",
      "wasm",
      "--out",
      out,
    ],
    cwd: ROOT,
    clearEnv: true,
    env: realEngineEnv(),
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  const text = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.equal(code, 0, `${spec} --preset smoke failed:\n${text}`);
}

for (const spec of SPECS) {
  Deno.test(`${spec}: smoke preset twice gives identical reports`, async () => {
    const a = await Deno.makeTempDir({ prefix: "merba_smoke_a_" });
    const b = await Deno.makeTempDir({ prefix: "merba_smoke_b_" });
    try {
      await runSmoke(spec, a);
      await runSmoke(spec, b);
      const [name] = [...Deno.readDirSync(a)].map((e) => e.name);
      const fa = await reportFiles(join(a, name, "report"));
      const fb = await reportFiles(join(b, name, "report"));
      assert.ok(
        [...fa.keys()].some((k) => k.endsWith(".md")),
        "report has a markdown table",
      );
      assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
      for (const [file, bytes] of fa) {
        assert.deepEqual(bytes, fb.get(file), `${spec}: ${file} differs`);
      }
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  });
}
