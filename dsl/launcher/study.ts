/**
 * Opening a study from a `deno task run` command line without running it:
 * the spec resolved with the same flags (launcher flags accepted and
 * ignored, so the run command works with `status` or `report` in place of
 * `run`), its plan (the cached dataset is loaded) and its run store. Used
 * by `deno task status` and `deno task report`.
 *
 * @module
 */
import { resolve } from "node:path";
import { CliError } from "../errors.ts";
import { type Deps, loadDeps } from "../deps.ts";
import { prepare, type Prepared } from "../prepare.ts";
import { loadRawSpec } from "../load.ts";
import { parseRunArgs, type RunArgs } from "../overrides.ts";
import { resolveWithDefaultBackend } from "../default_backend.ts";
import type { Experiment } from "../schema.ts";
import { RunStore } from "../store.ts";
import { splitLauncherArgs } from "./options.ts";

/** A study opened by {@link openStudy}. */
export interface Study {
  /** the resolved spec. */
  spec: Experiment;
  /** the parsed flags. */
  args: RunArgs;
  /** the dependencies (`MERBA_DEPS` or the project's). */
  deps: Deps;
  /** the plan and its dataset. */
  prepared: Prepared;
  /** the study's run store. */
  store: RunStore;
}

/**
 * The usage of a command that takes a run's spec and flags (`task` is
 * `status` or `report`; `what` says what it does).
 */
export function studyUsage(task: string, what: string): string {
  return `Usage: deno task ${task} SPEC [--preset P] [--set a.b=v ...] [--variant NAME]
                        [--seed N] [--data NAME=ROOT] [--backend B] [--out DIR]

${what}
Takes the flags of the \`deno task run\` command of the study (its launcher
flags are accepted and ignored).
`;
}

/**
 * Parses `argv` like `deno task run` and opens the study (see the module
 * doc); null for `--help`. `--dry-run`, `--shard` and `--jobs` are errors
 * (they only make sense for a run).
 */
export async function openStudy(argv: string[]): Promise<Study | null> {
  const { rest } = splitLauncherArgs(argv);
  const args = parseRunArgs(rest);
  if (args.help) return null;
  for (const flag of ["--dry-run", "--shard", "--jobs"]) {
    if (rest.some((a) => a === flag || a.startsWith(`${flag}=`))) {
      throw new CliError(`${flag}: a run flag, not used here`);
    }
  }
  const raw = await loadRawSpec(args.spec);
  const depsModule = Deno.env.get("MERBA_DEPS") || undefined;
  // the run's default backend, so that the jobs are the run's
  const { spec, args: resolved } = await resolveWithDefaultBackend(
    raw,
    args,
    args.spec,
    { depsModule },
  );
  const deps = await loadDeps(depsModule);
  // loading the cached dataset touches TF.js: the plain cpu backend does
  await deps.initBackend("cpu");
  const prepared = await prepare(spec, deps, {
    variants: args.variants,
    file: args.spec,
  });
  return {
    spec,
    args: resolved,
    deps,
    prepared,
    store: new RunStore(resolve(args.out), spec.name),
  };
}
