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
 * When the jobs ran in this thread (`--jobs 1`) on the wasm backend, the
 * summary also prints the wasm heap's high-water mark (`memory: wasm heap
 * high-water N MiB of 4096 MiB`): the headroom left for a larger
 * `train.microBatchSize` or `train.evalBatchSize`.
 *
 * The environment variable `MERBA_DEPS` may name a module exporting `deps`
 * (see `dsl/interpret.ts`) to run with stand-in dependencies (tests).
 *
 * @module
 */
import { CliError, SpecError } from "../dsl/errors.ts";
import {
  formatPlan,
  loadDeps,
  previewPlan,
  runExperiment,
} from "../dsl/interpret.ts";
import {
  attributeSets,
  parseRunArgs,
  resolveExperiment,
  USAGE,
} from "../dsl/overrides.ts";
import { loadRawSpec } from "../dsl/load.ts";
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
 * Whether neither the spec (its `extends` chain and the chosen preset) nor
 * the command line (`--backend`, `--set backend=…`) names a backend: then
 * {@link main} picks the default with `chooseBackend` (model/runtime.ts).
 */
export function backendUnset(
  raw: Record<string, unknown>,
  opts: { backend?: string; preset?: string; sets?: { path: string }[] },
): boolean {
  if (opts.backend !== undefined || "backend" in raw) return false;
  if ((opts.sets ?? []).some((s) => s.path === "backend")) return false;
  const presets = raw.presets as
    | Record<string, Record<string, unknown>>
    | undefined;
  const preset = opts.preset === undefined ? undefined : presets?.[opts.preset];
  return !(preset && typeof preset === "object" && "backend" in preset);
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseRunArgs(args);
  } catch (e) {
    return reportError(e);
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const depsModule = Deno.env.get("MERBA_DEPS") || undefined;
  try {
    const raw = await loadRawSpec(opts.spec);
    // validated first, so that a bad spec fails before a backend is loaded
    let spec = resolveExperiment(raw, opts, opts.spec);
    if (backendUnset(raw, opts) && !depsModule) {
      // the default backend (stand-in dependencies, in tests, keep the spec's)
      const { chooseBackend } = await import("../model/runtime.ts");
      const choice = await chooseBackend();
      console.log(`backend: ${choice.name} (${choice.reason})`);
      opts = { ...opts, backend: choice.name };
      spec = resolveExperiment(raw, opts, opts.spec);
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
    console.log(startBanner(spec, opts.preset, opts.out));
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
        signal: controller.signal,
        file: opts.spec,
        depsModule,
      });
      console.log(
        `${spec.name}: ${summary.planned} jobs planned, ${summary.selected} selected${
          opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count})` : ""
        }, ${summary.skipped} already finished, ${summary.ran} run now, ${summary.failed.length} failed, ${summary.missing} missing`,
      );
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
      for (const file of summary.reportFiles) console.log(`report: ${file}`);
      if (summary.interrupted) return 130;
      return summary.failed.length ? 1 : 0;
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  } catch (e) {
    return reportError(
      e instanceof SpecError ? attributeSets(e, opts.sets) : e,
    );
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
