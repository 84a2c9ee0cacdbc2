import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  arrayScript,
  type ArrayScriptInput,
  arraySpec,
  shellQuote,
} from "./sbatch.ts";

function input(dir: string, deno: string): ArrayScriptInput {
  return {
    experiment: "table7",
    submission: 2,
    tasks: [["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"], ["cccccccccccccccc"]],
    workers: 1,
    cwd: dir,
    deno,
    denoDir: join(dir, "deno cache"),
    config: join(dir, "deno.json"),
    runScript: join(dir, "scripts/run.ts"),
    specArgs: [
      join(dir, "experiments/table7.ts"),
      "--preset",
      "smoke",
      "--set",
      'report.description=it\'s a "test" $HOME',
    ],
    outDir: join(dir, "runs"),
    logPattern: join(dir, "task-%a.log"),
    env: { MERBA_BLAS: "0", MERBA_DEBUG: "1" },
    slurm: {
      cpus: 1,
      jobsPerTask: 2,
      maxAttempts: 3,
      arrayParallel: 2,
      partition: "gpu",
      time: "02:00:00",
      gres: "gpu:1",
      mem: "16G",
      extra: "--qos=high --account=mer",
    },
  };
}

Deno.test("the array script's directives: one task per group, %K, absolute log and folder, no exported environment", () => {
  const text = arrayScript(input("/abs/proj", "/opt/deno/bin/deno"));
  const directives = text.split("\n").filter((l) => l.startsWith("#SBATCH"));
  assert.deepEqual(directives, [
    "#SBATCH --job-name=merba-table7",
    "#SBATCH --array=1-2%2",
    "#SBATCH --output=/abs/proj/task-%a.log",
    "#SBATCH --chdir=/abs/proj",
    "#SBATCH --export=NONE",
    "#SBATCH --ntasks=1",
    "#SBATCH --cpus-per-task=1",
    "#SBATCH --partition=gpu",
    "#SBATCH --time=02:00:00",
    "#SBATCH --gres=gpu:1",
    "#SBATCH --mem=16G",
    "#SBATCH --qos=high --account=mer",
  ]);
  assert.equal(arraySpec(1), "1");
  assert.equal(arraySpec(5, 3), "1-5%3");
});

Deno.test("an array task runs its own jobs through run.ts offline, with only the script's environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "merba sbatch " });
  try {
    // a stand-in for the Deno binary that prints what it was given
    const deno = join(dir, "bin", "deno");
    await Deno.mkdir(join(dir, "bin"));
    await Deno.writeTextFile(
      deno,
      '#!/bin/bash\nprintf "arg:%s\\n" "$@"\nenv | grep -E "^(MERBA_|DENO_DIR=|PWD=)" | sort\nexit 3\n',
    );
    await Deno.chmod(deno, 0o755);
    const script = join(dir, "array.sbatch");
    await Deno.writeTextFile(script, arrayScript(input(dir, deno)));
    const run = async (index: string) => {
      const out = await new Deno.Command("env", {
        args: [
          "-i",
          "SLURM_ARRAY_JOB_ID=41",
          `SLURM_ARRAY_TASK_ID=${index}`,
          "MERBA_SECRET=from-the-shell",
          "/bin/bash",
          script,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, text: new TextDecoder().decode(out.stdout) };
    };
    const t1 = await run("1");
    assert.equal(t1.code, 3, "the task exits with the run's status");
    const args = t1.text.split("\n").filter((l) => l.startsWith("arg:"))
      .map((l) => l.slice(4));
    assert.deepEqual(args, [
      "run",
      "-A",
      "--cached-only",
      "--config",
      join(dir, "deno.json"),
      join(dir, "scripts/run.ts"),
      join(dir, "experiments/table7.ts"),
      "--preset",
      "smoke",
      "--set",
      'report.description=it\'s a "test" $HOME',
      "--out",
      join(dir, "runs"),
      "--jobs",
      "1",
      "--launcher",
      "local",
      "--no-report",
      "--job-ids",
      "aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb",
    ]);
    assert.match(t1.text, new RegExp(`^DENO_DIR=${dir}/deno cache$`, "m"));
    assert.match(t1.text, /^MERBA_BLAS=0$/m);
    assert.match(t1.text, /^MERBA_DEBUG=1$/m);
    assert.doesNotMatch(
      t1.text,
      /MERBA_SECRET/,
      "only the submission's MERBA_* settings",
    );
    assert.match(t1.text, new RegExp(`^PWD=${dir}$`, "m"));
    assert.match(
      t1.text,
      /^merba: array task 41_1 \(jobs aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb\) on /m,
    );
    assert.match(t1.text, /^merba: array task 41_1 exited with status 3$/m);
    const t2 = await run("2");
    assert.match(t2.text, /^arg:cccccccccccccccc$/m);
    const t9 = await run("9");
    assert.equal(t9.code, 2);
    assert.match(t9.text, /merba: array task 41_9: no jobs for this index/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shellQuote gives bash back the word it was given", async () => {
  const words = [
    "plain",
    "with space",
    "it's",
    '"q" $HOME `x` \\',
    "",
    "a=b,c:d",
  ];
  const out = await new Deno.Command("bash", {
    args: ["-c", `printf '%s\\n' ${words.map(shellQuote).join(" ")}`],
    stdout: "piped",
  }).output();
  assert.deepEqual(
    new TextDecoder().decode(out.stdout).split("\n").slice(0, -1),
    words,
  );
});
