/**
 * Progress display: one bar per running job (steps, with ETA) and one for
 * the whole run (jobs, with ETA), drawn with `cli-progress`'s multibar on
 * stderr. When disabled (not a terminal, tests), a line per finished job is
 * printed instead when `log` is set, and nothing otherwise.
 *
 * @module
 */
import process from "node:process";
import type { Job } from "./plan.ts";

// The part of cli-progress used here, typed locally: its @types package
// pulls @types/node 14 into the program, which shadows Deno's node types
// (e.g. `node:util`'s parseArgs, `node:assert/strict`) for every file
// checked together with it. A non-literal specifier keeps it out.
interface Bar {
  setTotal(total: number): void;
  update(value: number): void;
  stop(): void;
}
interface MultiBar {
  create(total: number, start: number, payload: Record<string, string>): Bar;
  remove(bar: Bar): boolean;
  stop(): void;
}
interface CliProgress {
  MultiBar: new (options: Record<string, unknown>, preset: unknown) => MultiBar;
  Presets: { shades_classic: unknown };
}
const CLI_PROGRESS = "cli-progress";
const cliProgress: CliProgress = (await import(CLI_PROGRESS)).default;

/** Draws the progress of a run. */
export class ProgressView {
  #multi: MultiBar | null = null;
  #overall: Bar | null = null;
  #bars = new Map<string, Bar>();
  #done = 0;
  #total: number;
  #log: ((line: string) => void) | null;

  /**
   * Starts the display.
   *
   * @param total jobs to run.
   * @param enabled draw bars (a terminal is needed).
   * @param log where a line per finished job goes when bars are off.
   */
  constructor(total: number, enabled: boolean, log?: (line: string) => void) {
    this.#total = total;
    this.#log = log ?? null;
    if (enabled && total > 0) {
      this.#multi = new cliProgress.MultiBar({
        stream: process.stderr,
        clearOnComplete: false,
        hideCursor: true,
        etaBuffer: 50,
        format: " {label} |{bar}| {value}/{total} {unit} | ETA {eta_formatted}",
      }, cliProgress.Presets.shades_classic);
      this.#overall = this.#multi.create(total, 0, {
        label: "all jobs".padEnd(40),
        unit: "jobs",
      });
    }
  }

  /** A job started. */
  startJob(job: Job): void {
    if (!this.#multi) return;
    const label = `${job.variant} s${job.seed} ${job.fold.name}`.slice(0, 40)
      .padEnd(40);
    this.#bars.set(job.id, this.#multi.create(1, 0, { label, unit: "steps" }));
  }

  /** A job made a training step. */
  step(job: Job, step: number, total: number): void {
    const bar = this.#bars.get(job.id);
    if (!bar) return;
    bar.setTotal(total);
    bar.update(step);
  }

  /** A job ended (finished or not). */
  endJob(job: Job, ok: boolean): void {
    if (ok) this.#done++;
    const bar = this.#bars.get(job.id);
    if (bar && this.#multi) {
      bar.stop();
      this.#multi.remove(bar);
      this.#bars.delete(job.id);
    }
    this.#overall?.update(this.#done);
    if (!this.#multi && this.#log) {
      this.#log(
        `[${this.#done}/${this.#total}] ${
          ok ? "done" : "not finished"
        }: ${job.variant} seed ${job.seed} fold ${job.fold.name} (${job.id})`,
      );
    }
  }

  /** Stops drawing. */
  stop(): void {
    this.#multi?.stop();
    this.#multi = null;
  }
}
