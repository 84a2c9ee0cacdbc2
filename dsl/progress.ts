/**
 * Progress display: one bar per running job (steps, with ETA) and one for
 * the whole run (jobs, with ETA), drawn with `cli-progress`'s multibar on
 * stderr. When bars are off (output not a terminal: CI logs, `| tee`,
 * Slurm) and `log` is set, plain lines go to `log` instead, at a bounded
 * rate: an epoch line per running job at most every `interval` seconds
 * (default 10; `MERBA_PROGRESS_INTERVAL` sets it, 0 = every epoch) and a
 * line per ended job — each with the job's place in the run, its variant,
 * seed and fold, and the run's elapsed time and ETA:
 *
 * ```text
 * job 3/18 h+v seed 1 split: epoch 7/25, loss 0.9861, val uf1 0.3690 | elapsed 2m05s, ETA 9m30s
 * job 3/18 h+v seed 1 split: done in 1m13s (4/18 finished) | elapsed 4m10s, ETA 8m20s
 * ```
 *
 * With neither bars nor `log`, nothing is shown.
 *
 * @module
 */
import process from "node:process";
import type { EpochRecord } from "../train/types.ts";
import type { Job } from "./plan.ts";

// The part of cli-progress used here, typed locally. Imported dynamically:
// a static import brings its declarations (and @types/node's) into the
// documentation graph of every module that re-exports this one.
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
const cliProgress = (await import("cli-progress")).default as CliProgress;

/** Options of the plain-line mode of {@link ProgressView}. */
export interface ProgressLineOptions {
  /**
   * least seconds between two epoch lines of one job (default: the
   * `MERBA_PROGRESS_INTERVAL` environment variable, else 10; 0 prints
   * every epoch). Ended jobs always get their line.
   */
  interval?: number;
  /** clock in milliseconds (tests); default `performance.now()`. */
  now?: () => number;
}

/** `MERBA_PROGRESS_INTERVAL` as seconds ≥ 0, else 10. */
function defaultInterval(): number {
  const raw = Deno.env.get("MERBA_PROGRESS_INTERVAL");
  const v = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isFinite(v) && v >= 0 ? v : 10;
}

/** `1h02m`, `4m05s` or `37s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, "0");
  if (h > 0) return `${h}h${pad(m)}m`;
  if (m > 0) return `${m}m${pad(s % 60)}s`;
  return `${s}s`;
}

interface RunningJob {
  index: number;
  startedAt: number;
  lastLine: number;
  fraction: number;
}

/** Draws the progress of a run. */
export class ProgressView {
  #multi: MultiBar | null = null;
  #overall: Bar | null = null;
  #bars = new Map<string, Bar>();
  #done = 0;
  #total: number;
  #log: ((line: string) => void) | null;
  #interval: number;
  #now: () => number;
  #startedAt: number;
  #started = 0;
  #running = new Map<string, RunningJob>();

  /**
   * Starts the display.
   *
   * @param total jobs to run.
   * @param enabled draw bars (a terminal is needed).
   * @param log where the plain progress lines go when bars are off.
   * @param lineOptions rate and clock of the plain lines.
   */
  constructor(
    total: number,
    enabled: boolean,
    log?: (line: string) => void,
    lineOptions: ProgressLineOptions = {},
  ) {
    this.#total = total;
    this.#log = log ?? null;
    this.#interval = lineOptions.interval ?? defaultInterval();
    this.#now = lineOptions.now ?? (() => performance.now());
    this.#startedAt = this.#now();
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
    const now = this.#now();
    this.#running.set(job.id, {
      index: ++this.#started,
      startedAt: now,
      lastLine: now,
      fraction: 0,
    });
    if (!this.#multi) return;
    const label = `${job.variant} s${job.seed} ${job.fold.name}`.slice(0, 40)
      .padEnd(40);
    this.#bars.set(job.id, this.#multi.create(1, 0, { label, unit: "steps" }));
  }

  /** A job made a training step. */
  step(job: Job, step: number, total: number): void {
    const running = this.#running.get(job.id);
    if (running && total > 0) running.fraction = Math.min(1, step / total);
    const bar = this.#bars.get(job.id);
    if (!bar) return;
    bar.setTotal(total);
    bar.update(step);
  }

  /**
   * A job finished an epoch: a plain line when bars are off, `log` is set
   * and the job's last line is at least the interval old.
   */
  epoch(job: Job, record: EpochRecord): void {
    const running = this.#running.get(job.id);
    if (!running) return;
    const epochs = job.recipe.epochs;
    running.fraction = Math.max(running.fraction, record.epoch / epochs);
    if (this.#multi || !this.#log) return;
    const now = this.#now();
    if ((now - running.lastLine) / 1000 < this.#interval) return;
    running.lastLine = now;
    const monitor = job.recipe.earlyStopping?.monitor ?? "uf1";
    const val = record.validation?.[monitor];
    this.#log(
      `${this.#jobLabel(job, running)}: epoch ${record.epoch}/${epochs}, loss ${
        record.trainLoss.toFixed(4)
      }${val === undefined ? "" : `, val ${monitor} ${val.toFixed(4)}`} | ${
        this.#clock(now)
      }`,
    );
  }

  #jobLabel(job: Job, running: RunningJob): string {
    return `job ${running.index}/${this.#total} ${job.variant} seed ${job.seed} ${job.fold.name}`;
  }

  /** `elapsed …, ETA …` of the whole run from the finished fraction. */
  #clock(now: number): string {
    const elapsed = (now - this.#startedAt) / 1000;
    let done = this.#done;
    for (const r of this.#running.values()) done += r.fraction;
    const fraction = this.#total > 0 ? done / this.#total : 1;
    const eta = fraction > 0
      ? formatDuration(elapsed * (1 - fraction) / fraction)
      : "?";
    return `elapsed ${formatDuration(elapsed)}, ETA ${eta}`;
  }

  /** A job ended (finished or not). */
  endJob(job: Job, ok: boolean): void {
    if (ok) this.#done++;
    const running = this.#running.get(job.id);
    this.#running.delete(job.id);
    const bar = this.#bars.get(job.id);
    if (bar && this.#multi) {
      bar.stop();
      this.#multi.remove(bar);
      this.#bars.delete(job.id);
    }
    this.#overall?.update(this.#done);
    if (!this.#multi && this.#log) {
      const now = this.#now();
      const label = running
        ? this.#jobLabel(job, running)
        : `job ${job.variant} seed ${job.seed} ${job.fold.name}`;
      const took = running
        ? ` in ${formatDuration((now - running.startedAt) / 1000)}`
        : "";
      this.#log(
        `${label}: ${
          ok ? `done${took}` : "not finished"
        } (${this.#done}/${this.#total} finished) | ${this.#clock(now)}`,
      );
    }
  }

  /** Stops drawing. */
  stop(): void {
    this.#multi?.stop();
    this.#multi = null;
  }
}
