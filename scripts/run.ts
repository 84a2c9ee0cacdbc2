/**
 * `deno task run SPEC [options]`: runs an experiment spec (see
 * `dsl/overrides.ts` for the flags, or `--help`). Ctrl-C stops cleanly:
 * finished jobs are kept, in-flight ones are abandoned and redone on the
 * next run; a second Ctrl-C exits at once.
 *
 * Errors: every failure before or around the jobs (bad flags, an invalid
 * spec, a dataset that cannot be loaded, a model config the library
 * rejects, …) is printed as one `error: …` line (several for a spec with
 * several issues) and exits non-zero: 2 for flag and spec errors, 1 for the
 * rest. `MERBA_DEBUG=1` adds the stack trace. A failed job does not stop
 * the others; the summary lists it (its message; the stack with
 * `MERBA_DEBUG=1`) and the exit code is 1.
 *
 * Output: at the start, what runs (experiment, preset, data and its split
 * sizes, the plan, the kernel set — and on a slow path how to get the fast
 * one); while it runs, progress bars on a terminal, else plain progress
 * lines on stdout (`dsl/progress.ts`); at the end, the run's counts, the
 * result table and one line pointing to `report/index.html` (`--verbose`
 * lists every report file).
 *
 * When the jobs ran in this thread (`--jobs 1`) on the wasm backend, the
 * summary also prints the wasm heap's high-water mark (`memory: wasm heap
 * high-water N MiB of 4096 MiB`): the headroom left for a larger
 * `train.microBatchSize` or `train.evalBatchSize`.
 *
 * `--launcher slurm` submits the jobs as a Slurm array instead of running
 * them here (`dsl/launcher/submit.ts`; `--help` lists its flags).
 *
 * The environment variable `MERBA_DEPS` may name a module exporting `deps`
 * (see `dsl/deps.ts`) to run with stand-in dependencies (tests).
 *
 * @module
 */
import { CliError, SpecError } from "../dsl/errors.ts";
import { loadDeps } from "../dsl/deps.ts";
import { formatPlan, runExperiment } from "../dsl/interpret.ts";
import { previewPlan } from "../dsl/prepare.ts";
import {
  attributeSets,
  optionOrigins,
  parseRunArgs,
  type SpecOverrides,
  USAGE,
} from "../dsl/overrides.ts";
import { loadRawSpec, type RawSpec } from "../dsl/load.ts";
import { resolveWithDefaultBackend } from "../dsl/default_backend.ts";
export { backendUnset } from "../dsl/default_backend.ts";
import type { ReportInput } from "../dsl/report/types.ts";
import { formatResultTable, summarizeReport } from "../dsl/report/table.ts";
import { backendKernelSet } from "../dsl/store.ts";
import {
  chooseLauncher,
  LAUNCHER_USAGE,
  splitLauncherArgs,
} from "../dsl/launcher/options.ts";
import * as tf from "@tensorflow/tfjs";

/**
 * The wasm backend's heap size in bytes when it is this thread's active
 * backend, else null. The heap only grows, so after a run it is the run's
 * high-water mark (4 GiB at most).
 */
export function wasmHeapBytes(): number | null {
  // engine().backendName is null until a backend was initialised (reading
  // tf.getBackend() would initialise one)
  if (tf.engine().backendName !== "wasm") return null;
  const heap = (tf.backend() as unknown as {
    wasm?: { HEAPU8?: Uint8Array };
  }).wasm?.HEAPU8;
  return heap ? heap.length : null;
}

/**
 * Prints `error: MESSAGE` (and, with `MERBA_DEBUG=1`, the stack) and
 * returns the exit code: 2 for flag and spec errors, 1 otherwise.
 */
export function reportError(e: unknown): number {
  const message = e instanceof Error ? e.message : String(e);
  console.error(`error: ${message}`);
  if (Deno.env.get("MERBA_DEBUG") === "1" && e instanceof Error && e.stack) {
    console.error(e.stack);
  }
  return e instanceof SpecError || e instanceof CliError ? 2 : 1;
}

/**
 * What a run is about to do, printed before the first job: the experiment,
 * the preset, whether the data is the built-in synthetic test-bed, and
 * where the records go.
 */
export function startBanner(
  spec: { name: string; description: string; dataset: { name: string } },
  preset: string | undefined,
  outDir: string,
): string {
  const synthetic = spec.dataset.name.startsWith("synthetic-");
  return [
    `${spec.name}: ${spec.description}`,
    `  preset:  ${
      preset ??
        "none (the spec's own scale; --preset smoke is a quick check)"
    }`,
    `  data:    ${spec.dataset.name}${
      synthetic
        ? " — the built-in synthetic test-bed, not real data (--data NAME=ROOT runs a real corpus)"
        : ""
    }`,
    `  records: ${outDir}/${spec.name}/ (finished jobs are kept: Ctrl-C, rerun to resume)`,
  ].join("\n");
}

/**
 * Makes an error raised while running a spec say where its cause is: a
 * spec error names the spec file (when the error did not) and the `--set`
 * that gave the value; a dataset error about an option says which preset,
 * `--set` or the spec put that option there.
 */
export function explainError(
  e: unknown,
  file: string,
  raw: RawSpec | undefined,
  overrides: SpecOverrides,
): unknown {
  if (e instanceof SpecError) {
    return attributeSets(e.inFile(file), overrides.sets);
  }
  if (!raw || !(e instanceof Error)) return e;
  const key = /\boption "?([A-Za-z0-9_]+)"?/.exec(e.message)?.[1];
  const origin = key ? optionOrigins(raw, overrides).get(key) : undefined;
  if (origin) {
    e.message += ` (dataset.options.${key} came from ${origin}${
      origin.startsWith("--set ")
        ? ""
        : "; --set dataset.options=null drops the inherited options"
    })`;
  }
  return e;
}

/**
 * The start-of-run line naming the kernel set that runs and, on a slow
 * path, how to get the fast one.
 *
 * @param kernelSet the label (see `backendKernelSet` in `dsl/store.ts`).
 * @param blasSetting `MERBA_BLAS` as set (`0`/`off`/`false` turn BLAS off).
 */
export function kernelLine(kernelSet: string, blasSetting?: string): string {
  const blasOff = /^(0|off|false)$/i.test(blasSetting ?? "");
  const getBlas = blasOff
    ? "unset MERBA_BLAS to use the OpenBLAS kernels (~1.8x faster training)"
    : "install OpenBLAS for ~1.8x faster training (Debian/Ubuntu: sudo apt-get install libopenblas0-pthread)";
  const what: Record<string, string> = {
    "wasm+openblas":
      "TF.js wasm with OpenBLAS matmul/convolution kernels (the fast CPU path)",
    "cpu+openblas":
      "TF.js plain JavaScript kernels with OpenBLAS matmuls (slow: --backend wasm is faster)",
    "wasm": `plain TF.js wasm kernels — the slow path: ${getBlas}`,
    "cpu":
      `TF.js plain JavaScript kernels — the slowest path: use --backend wasm, and ${getBlas}`,
    "webgpu": "WebGPU",
    "tensorflow": "TensorFlow C library (tfjs-node)",
    "tensorflow-gpu": "TensorFlow C library with CUDA (tfjs-node-gpu)",
  };
  return `  kernels: ${kernelSet}${
    what[kernelSet] ? ` — ${what[kernelSet]}` : ""
  }`;
}

/**
 * The result table printed at the end of a run (what the user came for):
 * the report's terminal table with intervals, marks and its conclusion.
 */
export function resultTable(report: ReportInput): string {
  return formatResultTable(summarizeReport(report));
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let opts, split;
  try {
    split = splitLauncherArgs(args);
    opts = parseRunArgs(split.rest);
  } catch (e) {
    return reportError(e);
  }
  if (opts.help) {
    console.log(USAGE + LAUNCHER_USAGE);
    return 0;
  }
  const depsModule = Deno.env.get("MERBA_DEPS") || undefined;
  let raw: RawSpec | undefined;
  try {
    raw = await loadRawSpec(opts.spec);
    const resolved = await resolveWithDefaultBackend(raw, opts, opts.spec, {
      depsModule,
      onChoice: (line) => console.log(line),
    });
    const spec = resolved.spec;
    opts = resolved.args;
    const launcher = chooseLauncher(spec, split.launcher);
    if (launcher.kind === "slurm" && !opts.dryRun) {
      if (opts.shard || launcher.jobIds) {
        throw new CliError(
          `${
            opts.shard ? "--shard" : "--job-ids"
          }: not with --launcher slurm (the array splits the plan itself)`,
        );
      }
      const { runOnSlurm } = await import("../dsl/launcher/submit.ts");
      return await runOnSlurm({
        spec,
        args: opts,
        argv: split.rest,
        launcher,
        depsModule,
      });
    }
    if (launcher.wait) {
      throw new CliError("--wait: only with --launcher slurm");
    }
    if (opts.dryRun) {
      const deps = await loadDeps(depsModule);
      // Counting parameters and loading a cached dataset touch TF.js: start
      // the plain cpu backend so that no accelerator backend (webgpu ranks
      // first where an adapter exists) is picked half-initialised.
      await deps.initBackend("cpu");
      const prepared = await previewPlan(spec, deps, {
        variants: opts.variants,
        file: opts.spec,
      });
      console.log(
        await formatPlan(spec, prepared, deps, {
          outDir: opts.out,
          shard: opts.shard,
        }),
      );
      return 0;
    }
    // the kernel set is named before anything runs (jobs in workers start
    // their own backend, with the same setting)
    const backend = await (await loadDeps(depsModule)).initBackend(
      spec.backend,
    );
    console.log(startBanner(spec, opts.preset, opts.out));
    console.log(
      kernelLine(backendKernelSet(backend), Deno.env.get("MERBA_BLAS")),
    );
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts === 1) {
        console.error(
          "\nstopping: finished jobs are saved; in-flight jobs will be redone next time (Ctrl-C again to exit now)",
        );
        controller.abort(new Error("interrupted"));
      } else {
        Deno.exit(130);
      }
    };
    Deno.addSignalListener("SIGINT", onSigint);
    try {
      const summary = await runExperiment(spec, {
        outDir: opts.out,
        variants: opts.variants,
        jobs: opts.jobs,
        shard: opts.shard,
        jobIds: launcher.jobIds,
        report: !launcher.noReport,
        signal: controller.signal,
        file: opts.spec,
        depsModule,
        backend,
        noRedo: opts.noRedo,
        allowMixedKernels: opts.allowMixedKernels,
        log: (line) => console.log(line),
        onPlan: ({ prepared, pending, workers }) => {
          const jobs = prepared.jobs.length;
          const folds = new Set(prepared.jobs.map((j) => j.fold.name)).size;
          console.log(
            `  dataset: ${prepared.dataset.description}\n` +
              `  plan:    ${prepared.variants.length} variants × ${spec.seeds.length} seeds × ${folds} folds = ${jobs} jobs; ${pending.length} to run${
                workers > 1 ? ` (${workers} in parallel)` : ""
              }, ${jobs - pending.length} already finished`,
          );
        },
      });
      console.log(
        `${spec.name}: ${summary.planned} jobs planned, ${summary.selected} selected${
          opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count})` : ""
        }, ${summary.skipped} already finished, ${summary.ran} run now, ${summary.failed.length} failed${
          summary.elsewhere > 0
            ? `, ${summary.elsewhere} running elsewhere`
            : ""
        }, ${summary.missing} missing`,
      );
      if (summary.elsewhere > 0) {
        console.log(
          `  ${summary.elsewhere} jobs were claimed by another live process: this report has what is finished; the last process to finish writes the complete one`,
        );
      }
      for (const d of summary.damaged) {
        // with --no-redo the job is among the failed ones, said below
        if (summary.failed.some((f) => f.id === d.id)) continue;
        console.error(
          `damaged: ${d.variant} seed ${d.seed} fold ${d.fold} (${d.id}): ${d.problem}${
            d.redone ? " — redone" : ""
          }`,
        );
      }
      const heap = opts.jobs <= 1 && summary.ran > 0 ? wasmHeapBytes() : null;
      if (heap !== null) {
        // jobs ran in this thread: its heap is theirs
        console.log(
          `memory: wasm heap high-water ${
            (heap / 2 ** 20).toFixed(0)
          } MiB of 4096 MiB`,
        );
      }
      const debug = Deno.env.get("MERBA_DEBUG") === "1";
      for (const f of summary.failed) {
        // stack frames only with MERBA_DEBUG=1
        const error = debug
          ? f.error
          : f.error.split("\n").filter((l) => !/^\s+at /.test(l)).join("\n");
        console.error(
          `failed: ${f.variant} seed ${f.seed} fold ${f.fold} (${f.id}):\n${error}`,
        );
      }
      if (summary.report) console.log(`\n${resultTable(summary.report)}`);
      if (opts.verbose) {
        for (const file of summary.reportFiles) console.log(`report: ${file}`);
      } else if (summary.reportFiles.length > 0) {
        const index = summary.reportFiles.find((f) =>
          f.endsWith("index.html")
        ) ?? `${summary.dir}/report/`;
        console.log(
          `report: ${index} (tables, curves, confusion matrices; --verbose lists all ${summary.reportFiles.length} files)`,
        );
      }
      if (summary.reportError !== undefined) {
        console.error(
          `error: report not written (the finished jobs' records are kept): ${summary.reportError}`,
        );
      }
      if (summary.interrupted) return 130;
      return summary.failed.length || summary.reportError !== undefined ? 1 : 0;
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  } catch (e) {
    return reportError(explainError(e, opts.spec, raw, opts));
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
