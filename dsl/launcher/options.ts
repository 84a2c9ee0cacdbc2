/**
 * The launcher flags of `deno task run`: `--launcher local|slurm`,
 * `--wait`, `--no-report`, `--job-ids ID,…` and `--slurm.KEY VALUE` (also
 * `--flag=value`).
 * They are taken out of the command line before the run flags are parsed
 * (`dsl/overrides.ts`), and merged over the spec's `launcher` section:
 * flags win, then the spec, then the defaults.
 *
 * @module
 */
import * as v from "valibot";
import { CliError } from "../errors.ts";
import {
  type Experiment,
  LAUNCHER_KINDS,
  type SlurmSpec,
  SlurmSpecSchema,
} from "../schema.ts";

/** A launcher name. */
export type LauncherKind = typeof LAUNCHER_KINDS[number];

/** The launcher flags of one command line. */
export interface LauncherArgs {
  /** `--launcher`. */
  kind?: LauncherKind;
  /** `--wait`: block until the Slurm array ends, then write the report. */
  wait: boolean;
  /** `--no-report`: run the jobs, write no report (array tasks). */
  noReport: boolean;
  /** `--job-ids`: run only these jobs (an array task's). */
  jobIds?: string[];
  /** `--slurm.*` settings given. */
  slurm: SlurmSpec;
}

/** Slurm settings with the defaults filled in. */
export interface SlurmSettings extends SlurmSpec {
  /** CPUs per array task (default 1). */
  cpus: number;
  /** jobs per array task (default 1). */
  jobsPerTask: number;
  /** submissions of one job at most, retries included (default 3). */
  maxAttempts: number;
}

/** The launcher a run uses: flags over the spec's `launcher` section. */
export interface LauncherChoice {
  /** where the jobs run. */
  kind: LauncherKind;
  /** `--wait`. */
  wait: boolean;
  /** `--no-report`. */
  noReport: boolean;
  /** `--job-ids`. */
  jobIds?: string[];
  /** the Slurm settings (used when `kind` is `slurm`). */
  slurm: SlurmSettings;
}

/** `--slurm.` flag name → {@link SlurmSpec} key and value kind. */
const SLURM_FLAGS: Record<string, [keyof SlurmSpec, "string" | "int"]> = {
  partition: ["partition", "string"],
  time: ["time", "string"],
  gres: ["gres", "string"],
  cpus: ["cpus", "int"],
  mem: ["mem", "string"],
  "array-parallel": ["arrayParallel", "int"],
  "jobs-per-task": ["jobsPerTask", "int"],
  "max-attempts": ["maxAttempts", "int"],
  extra: ["extra", "string"],
};

/** The launcher part of `deno task run --help`. */
export const LAUNCHER_USAGE = `
Launcher (also settable in the spec's \`launcher\` section; flags win):
  --launcher L         local (default) | slurm: submit the jobs as a Slurm array
  --wait               with slurm: wait until the array ends, retry failed
                       jobs (see --slurm.max-attempts), write the report
  --no-report          run the jobs, write no report (what array tasks do)
  --job-ids ID,...     run only these jobs (ids as --dry-run lists them)
  --slurm.partition P  --slurm.time HH:MM:SS  --slurm.gres gpu:1
  --slurm.cpus N       CPUs per array task (its parallel workers)
  --slurm.mem 16G      memory per array task
  --slurm.array-parallel K   at most K array tasks at once (%K)
  --slurm.jobs-per-task G    G jobs per array task (default 1)
  --slurm.max-attempts N     submit one job at most N times (default 3)
  --slurm.extra "..."  further sbatch options, as one #SBATCH line
`;

/**
 * Takes the launcher flags out of `argv`; returns them and the rest (the
 * run flags, in order). Throws a {@link CliError} naming the flag for an
 * unknown `--slurm.` key, a missing value or a value of the wrong form.
 */
export function splitLauncherArgs(
  argv: readonly string[],
): { launcher: LauncherArgs; rest: string[] } {
  const launcher: LauncherArgs = { wait: false, noReport: false, slurm: {} };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = name === arg ? undefined : arg.slice(eq + 1);
    // `--slurm.extra` takes sbatch options, so its value may start with --
    const value = (dashes = false): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (!dashes && next.startsWith("--"))) {
        throw new CliError(`${name}: expected a value`);
      }
      i++;
      return next;
    };
    if (name === "--wait" || name === "--no-report") {
      if (inline !== undefined) {
        throw new CliError(`${name}: takes no value, got ${arg}`);
      }
      if (name === "--wait") launcher.wait = true;
      else launcher.noReport = true;
    } else if (name === "--launcher") {
      const kind = value();
      if (!(LAUNCHER_KINDS as readonly string[]).includes(kind)) {
        throw new CliError(
          `--launcher: expected one of ${LAUNCHER_KINDS.join(", ")}, got ${
            JSON.stringify(kind)
          }`,
        );
      }
      launcher.kind = kind as LauncherKind;
    } else if (name === "--job-ids") {
      const text = value();
      const ids = text.split(",").map((id) => id.trim());
      const bad = ids.find((id) => !/^[0-9a-f]{16}$/.test(id));
      if (bad !== undefined) {
        throw new CliError(
          `--job-ids: expected job ids (16 hex digits, as --dry-run lists them) separated by commas, got ${
            JSON.stringify(bad)
          }`,
        );
      }
      launcher.jobIds = [...(launcher.jobIds ?? []), ...ids];
    } else if (name.startsWith("--slurm.")) {
      const flag = SLURM_FLAGS[name.slice("--slurm.".length)];
      if (!flag) {
        throw new CliError(
          `${name}: unknown Slurm setting (known: ${
            Object.keys(SLURM_FLAGS).map((k) => `--slurm.${k}`).join(", ")
          })`,
        );
      }
      const [key, kind] = flag;
      const text = value(key === "extra");
      const parsed = kind === "int"
        ? (/^\d+$/.test(text) ? Number(text) : NaN)
        : text;
      const check = v.safeParse(SlurmSpecSchema, { [key]: parsed });
      if (!check.success) {
        throw new CliError(
          `${name}: ${
            Number.isNaN(parsed)
              ? "expected an integer"
              : check.issues[0].message
          }, got ${JSON.stringify(text)}`,
        );
      }
      (launcher.slurm as Record<string, unknown>)[key] = parsed;
    } else {
      rest.push(arg);
    }
  }
  return { launcher, rest };
}

/**
 * The launcher a run uses: the flags over the spec's `launcher` section
 * over the defaults (local; 1 CPU, 1 job per task, 3 attempts).
 */
export function chooseLauncher(
  spec: Pick<Experiment, "launcher">,
  args: LauncherArgs,
): LauncherChoice {
  const slurm = { ...(spec.launcher?.slurm ?? {}), ...args.slurm };
  return {
    kind: args.kind ?? spec.launcher?.kind ?? "local",
    wait: args.wait,
    noReport: args.noReport,
    ...(args.jobIds ? { jobIds: args.jobIds } : {}),
    slurm: {
      ...slurm,
      cpus: slurm.cpus ?? 1,
      jobsPerTask: slurm.jobsPerTask ?? 1,
      maxAttempts: slurm.maxAttempts ?? 3,
    },
  };
}
