import { strict as assert } from "node:assert";
import { CliError, SpecError } from "../errors.ts";
import { validateExperiment } from "../spec.ts";
import { chooseLauncher, splitLauncherArgs } from "./options.ts";

Deno.test("the launcher flags are taken out of a command line and the run flags stay in order", () => {
  const { launcher, rest } = splitLauncherArgs([
    "experiments/table7.ts",
    "--preset",
    "smoke",
    "--launcher",
    "slurm",
    "--slurm.partition=gpu",
    "--set",
    "train.epochs=2",
    "--slurm.time",
    "1-12:00:00",
    "--slurm.cpus",
    "4",
    "--slurm.mem",
    "16G",
    "--slurm.gres",
    "gpu:1",
    "--slurm.array-parallel",
    "2",
    "--slurm.jobs-per-task",
    "3",
    "--slurm.max-attempts",
    "5",
    "--slurm.extra",
    "--qos=high --account=mer",
    "--wait",
    "--out",
    "runs",
  ]);
  assert.deepEqual(rest, [
    "experiments/table7.ts",
    "--preset",
    "smoke",
    "--set",
    "train.epochs=2",
    "--out",
    "runs",
  ]);
  assert.deepEqual(launcher, {
    kind: "slurm",
    wait: true,
    noReport: false,
    slurm: {
      partition: "gpu",
      time: "1-12:00:00",
      cpus: 4,
      mem: "16G",
      gres: "gpu:1",
      arrayParallel: 2,
      jobsPerTask: 3,
      maxAttempts: 5,
      extra: "--qos=high --account=mer",
    },
  });
  const task = splitLauncherArgs([
    "s.ts",
    "--launcher",
    "local",
    "--no-report",
    "--job-ids",
    "0123456789abcdef,fedcba9876543210",
  ]);
  assert.deepEqual(task.launcher.jobIds, [
    "0123456789abcdef",
    "fedcba9876543210",
  ]);
  assert.equal(task.launcher.noReport, true);
  assert.deepEqual(task.rest, ["s.ts"]);
});

Deno.test("a bad launcher flag is one error naming the flag and the value", () => {
  const cases: [string[], RegExp][] = [
    [
      ["--launcher", "pbs"],
      /^--launcher: expected one of local, slurm, got "pbs"$/,
    ],
    [
      ["--slurm.queue", "x"],
      /^--slurm\.queue: unknown Slurm setting \(known: --slurm\.partition, /,
    ],
    [
      ["--slurm.time", "soon"],
      /^--slurm\.time: expected a Slurm time limit like 30, 02:00:00 or 1-12:00:00, got "soon"$/,
    ],
    [
      ["--slurm.cpus", "0"],
      /^--slurm\.cpus: expected an integer ≥ 1, got "0"$/,
    ],
    [
      ["--slurm.cpus", "two"],
      /^--slurm\.cpus: expected an integer, got "two"$/,
    ],
    [
      ["--slurm.mem", "lots"],
      /^--slurm\.mem: expected a memory size like 16G or 4000M, got "lots"$/,
    ],
    [["--slurm.partition"], /^--slurm\.partition: expected a value$/],
    [["--slurm.partition", "--wait"], /^--slurm\.partition: expected a value$/],
    [["--wait=yes"], /^--wait: takes no value, got --wait=yes$/],
    [
      ["--job-ids", "abc"],
      /^--job-ids: expected job ids \(16 hex digits, as --dry-run lists them\) separated by commas, got "abc"$/,
    ],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => splitLauncherArgs(["s.ts", ...argv]),
      (e: unknown) => e instanceof CliError && message.test(e.message),
      argv.join(" "),
    );
  }
});

Deno.test("the launcher is the flags over the spec's launcher section over the defaults", () => {
  const spec = {
    launcher: {
      kind: "slurm" as const,
      slurm: { partition: "gpu", time: "12:00:00", cpus: 2 },
    },
  };
  const none = splitLauncherArgs([]).launcher;
  assert.deepEqual(chooseLauncher(spec, none), {
    kind: "slurm",
    wait: false,
    noReport: false,
    slurm: {
      partition: "gpu",
      time: "12:00:00",
      cpus: 2,
      jobsPerTask: 1,
      maxAttempts: 3,
    },
  });
  const flags = splitLauncherArgs([
    "--launcher",
    "local",
    "--slurm.time",
    "30",
  ]).launcher;
  const chosen = chooseLauncher(spec, flags);
  assert.equal(chosen.kind, "local");
  assert.equal(chosen.slurm.time, "30");
  assert.equal(chosen.slurm.partition, "gpu");
  assert.deepEqual(chooseLauncher({}, none).kind, "local");
});

Deno.test("a spec's launcher section is validated, and an error names its path", () => {
  const base = {
    name: "x",
    dataset: { name: "synthetic-dfme", imageSize: 32 },
    protocol: { kind: "fixedSplit", train: "train", tests: ["testB"] },
  };
  const ok = validateExperiment({
    ...base,
    launcher: { kind: "slurm", slurm: { gres: "gpu:1", arrayParallel: 4 } },
  });
  assert.deepEqual(ok.launcher, {
    kind: "slurm",
    slurm: { gres: "gpu:1", arrayParallel: 4 },
  });
  assert.equal(validateExperiment(base).launcher, undefined);
  assert.throws(
    () =>
      validateExperiment(
        { ...base, launcher: { slurm: { time: "later" } } },
        "x.ts",
      ),
    (e: unknown) =>
      e instanceof SpecError &&
      /x\.ts: launcher\.slurm\.time: expected a Slurm time limit/.test(
        e.message,
      ),
  );
  assert.throws(
    () => validateExperiment({ ...base, launcher: { kind: "pbs" } }, "x.ts"),
    (e: unknown) => e instanceof SpecError && /launcher\.kind/.test(e.message),
  );
});
