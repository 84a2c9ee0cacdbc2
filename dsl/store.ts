/**
 * The run store: one folder per job, `runs/<experiment>/<job id>/`, holding
 *
 * - `job.json` — the resolved job, its seeds, the backend as `initBackend`
 *   reported it (name, threads, versions, BLAS setting: whether OpenBLAS
 *   served the matmuls and convolution gradients and with how many
 *   threads, notes), package versions and git commit (written when the job
 *   starts);
 * - `epochs.jsonl` — one line per finished epoch (rewritten after each);
 * - `predictions.json`, `metrics.json`, `weights.safetensors`;
 * - `done.json` — written LAST, naming the job hash, the kernel set and the
 *   size and SHA-256 of every other file;
 * - `claim.json` — while a process runs the job (see below).
 *
 * Every file is written atomically (a temporary file in the same folder,
 * named after the writer's host and pid, flushed, then renamed over the
 * target), so a reader sees either the old or the new content, never a
 * torn file. A job counts as finished only when `done.json` exists, names
 * the job's hash, and every file it lists still has its recorded size and
 * checksum ({@link RunStore.check}); a damaged finished job is reported
 * and redone. Killing the process at any moment loses at most the jobs in
 * flight, which are redone on the next run (their partial files are
 * overwritten).
 *
 * Claims: several processes (on one host or on several, sharing the folder
 * over NFS) may run one experiment. A process takes a job by creating its
 * `claim.json` exclusively (written to a private file, then hard-linked
 * into place: an atomic create-new, also on NFS), refreshes its heartbeat
 * every {@link CLAIM_HEARTBEAT_MS}, and removes it when the job ends.
 * Other processes skip a job whose claim is live ({@link claimIsLive}). A
 * stale claim is taken over by renaming it aside under a unique name,
 * checking that the renamed file is the stale one (else it is linked
 * back), and creating a new claim: never two owners.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import type { EpochRecord, Metrics, Prediction } from "../train/types.ts";
import { StoreError } from "./errors.ts";
import type { Job } from "./plan.ts";
import { kernelSetLabel } from "../model/backend/kernel_set.ts";

/** File names inside a job folder. */
export const JOB_FILES = {
  job: "job.json",
  epochs: "epochs.jsonl",
  predictions: "predictions.json",
  metrics: "metrics.json",
  weights: "weights.safetensors",
  done: "done.json",
  claim: "claim.json",
} as const;

let tmpCounter = 0;

/**
 * A temporary name beside `path` owned by this process:
 * `<path>.tmp-<host>-<pid>-<n>` (see {@link tempOwner}).
 */
function tempPath(path: string): string {
  return `${path}.tmp-${Deno.hostname()}-${Deno.pid}-${++tmpCounter}`;
}

/**
 * The writer of a temporary file name, or null when `name` is not one:
 * `host` is null for the older `<file>.tmp-<pid>-<n>` names (written on
 * this host).
 */
export function tempOwner(
  name: string,
): { host: string | null; pid: number } | null {
  const m = /\.tmp-(?:(.+)-)?(\d+)-(\d+)$/.exec(name);
  return m ? { host: m[1] ?? null, pid: Number(m[2]) } : null;
}

/**
 * Writes `data` to `path` atomically: temp file in the same folder, data
 * flushed to disk, then renamed over `path`. Creates the folder if needed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  const file = await Deno.open(tmp, {
    write: true,
    create: true,
    truncate: true,
  });
  try {
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    await file.syncData();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes JSON (2-space indented) atomically. */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Where and with what a job ran. */
export interface RunContext {
  /** `git rev-parse HEAD`, or null outside a git checkout. */
  gitCommit: string | null;
  /** Deno, V8, TypeScript and TF.js versions (with the backend's). */
  versions: Record<string, string>;
  /** ISO time the job started. */
  startedAt: string;
  /** host name. */
  host: string;
  /**
   * the kernel set the job runs on (model/backend/runtime.ts' `kernelSetLabel`:
   * "wasm", "wasm+openblas", "cpu", …), "unknown" when the backend is not
   * recorded. Records written before it existed derive it from
   * {@link RunContext.backend} ({@link kernelSetOf}).
   */
  kernelSet: string;
  /**
   * the backend as `initBackend` reported it (model/backend/runtime.ts'
   * `BackendInfo`): its name, threads, SIMD, package versions, BLAS
   * setting (`blas`: library path, build, sgemm threads and kernels, or
   * null when TensorFlow.js' own kernels ran) and notes; null when the
   * caller set the backend up itself.
   */
  backend: {
    name: string;
    threads?: number;
    simd?: boolean;
    versions?: Record<string, string>;
    blas?: {
      path: string;
      config: string;
      threads: number;
      kernels: string[];
    } | null;
    notes?: string[];
  } | null;
}

/**
 * What an `initBackend` result is recorded as: an object with a string
 * `name` is kept (as JSON), a bare name becomes `{ name }`, anything else
 * null.
 */
function backendRecord(info: unknown): RunContext["backend"] {
  if (typeof info === "string") return { name: info };
  if (
    info === null || typeof info !== "object" ||
    typeof (info as { name?: unknown }).name !== "string"
  ) {
    return null;
  }
  return JSON.parse(JSON.stringify(info));
}

/**
 * Collects the run context (tolerates a missing git).
 *
 * @param backend what `initBackend` returned for the jobs' backend
 *   (model/backend/runtime.ts' `BackendInfo`); recorded as
 *   {@link RunContext.backend}, its `versions` merged into the context's.
 *   Omitted: the backend is recorded as null.
 */
export async function runContext(backend?: unknown): Promise<RunContext> {
  let gitCommit: string | null = null;
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.success) {
      gitCommit = new TextDecoder().decode(out.stdout).trim() || null;
    }
  } catch {
    gitCommit = null;
  }
  const versions: Record<string, string> = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
  try {
    const tf = await import("@tensorflow/tfjs");
    versions.tfjs = tf.version.tfjs;
  } catch {
    // tfjs unavailable: leave it out
  }
  const record = backendRecord(backend);
  const extra = record?.versions;
  return {
    gitCommit,
    versions: {
      ...(extra && typeof extra === "object" && !Array.isArray(extra)
        ? extra
        : {}),
      ...versions,
    },
    startedAt: new Date().toISOString(),
    host: Deno.hostname(),
    kernelSet: backendKernelSet(record),
    backend: record,
  };
}

/** The kernel set of a job whose backend was not recorded. */
export const UNKNOWN_KERNEL_SET = "unknown";

/**
 * The kernel set of a recorded run context (`job.json`'s `context`): its
 * `kernelSet`, or for older records the label of its `backend` (name, and
 * `+openblas` when `blas` is set), or {@link UNKNOWN_KERNEL_SET}.
 */
export function kernelSetOf(context: Partial<RunContext> | undefined): string {
  if (typeof context?.kernelSet === "string") return context.kernelSet;
  return backendKernelSet(context?.backend);
}

/**
 * The kernel set of what a backend initialisation reported (`initBackend`'s
 * `BackendInfo`: its name, `+openblas` when BLAS kernels serve it); a bare
 * backend name (stand-in dependencies) is that name; anything else is
 * {@link UNKNOWN_KERNEL_SET}.
 */
export function backendKernelSet(info: unknown): string {
  const record = backendRecord(info);
  return record ? kernelSetLabel(record) : UNKNOWN_KERNEL_SET;
}

/** What `done.json` holds. */
export interface DoneRecord {
  /** the job's full hash. */
  hash: string;
  /** ISO time it finished. */
  finishedAt: string;
  /** wall time of the job. */
  seconds: number;
  /** the epoch whose weights were kept. */
  bestEpoch: number;
  /** whether early stopping ended training. */
  stoppedEarly: boolean;
  /** the kernel set the job ran on (see {@link RunContext.kernelSet}). */
  kernelSet?: string;
  /**
   * size and SHA-256 of every other file of the job, checked on resume
   * and on report (absent in records written before checksums existed).
   */
  files?: Record<string, FileRecord>;
}

/** What `done.json` records of one file. */
export interface FileRecord {
  /** size in bytes. */
  size: number;
  /** SHA-256 of the content, 64 lowercase hex digits. */
  sha256: string;
}

/**
 * The state of a job's records ({@link RunStore.check}): not finished
 * (`todo`), finished and intact (`done`), or finished but `damaged`
 * (`problem` names the file and what is wrong with it).
 */
export type JobState =
  | { state: "todo" }
  | { state: "done"; done: DoneRecord; kernelSet: string }
  | { state: "damaged"; problem: string };

/** A finished job's records, as read back. */
export interface JobRecord {
  /** `done.json`. */
  done: DoneRecord;
  /** `predictions.json`. */
  predictions: Prediction[];
  /** `metrics.json`: metrics per test split. */
  metrics: Record<string, Metrics>;
  /** `epochs.jsonl`. */
  epochs: EpochRecord[];
}

/** What a finished job hands to the store. */
export interface JobOutcome {
  /** predictions on every test split. */
  predictions: Prediction[];
  /** metrics per test split. */
  metrics: Record<string, Metrics>;
  /** the epoch log. */
  epochs: EpochRecord[];
  /** the epoch whose weights were kept. */
  bestEpoch: number;
  /** whether early stopping ended training. */
  stoppedEarly: boolean;
  /** wall time of the job. */
  seconds: number;
}

async function readJson(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StoreError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Size and SHA-256 of a file, read in chunks. */
export async function fileRecord(path: string): Promise<FileRecord> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  let size = 0;
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    file.close();
  }
  return { size, sha256: hash.digest("hex") };
}

/** The files of a finished job whose content is checked (weights: when written). */
const CHECKED: readonly (keyof typeof JOB_FILES)[] = [
  "job",
  "epochs",
  "predictions",
  "metrics",
  "weights",
];
const REQUIRED = new Set<string>([
  JOB_FILES.job,
  JOB_FILES.epochs,
  JOB_FILES.predictions,
  JOB_FILES.metrics,
]);

function parseEpochs(path: string, text: string): EpochRecord[] {
  return text.split("\n").filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as EpochRecord;
    } catch {
      throw new StoreError(`${path}: line ${i + 1} is not JSON`);
    }
  });
}

/** Parses and shape-checks a finished job's JSON files. */
async function readContent(
  store: RunStore,
  job: Pick<Job, "id">,
): Promise<Omit<JobRecord, "done"> & { jobJson: { context?: RunContext } }> {
  const jobJson = await readJson(store.path(job, "job"));
  if (jobJson === null || typeof jobJson !== "object") {
    throw new StoreError(`${store.path(job, "job")}: expected an object`);
  }
  const predictions = await readJson(store.path(job, "predictions"));
  if (!Array.isArray(predictions) || predictions.length === 0) {
    throw new StoreError(
      `${
        store.path(job, "predictions")
      }: expected a non-empty list of predictions`,
    );
  }
  const metrics = await readJson(store.path(job, "metrics"));
  if (
    metrics === null || typeof metrics !== "object" || Array.isArray(metrics)
  ) {
    throw new StoreError(
      `${store.path(job, "metrics")}: expected metrics per test split`,
    );
  }
  const epochsPath = store.path(job, "epochs");
  const epochs = parseEpochs(epochsPath, await Deno.readTextFile(epochsPath));
  if (epochs.length === 0) {
    throw new StoreError(`${epochsPath}: no epochs`);
  }
  return {
    jobJson: jobJson as { context?: RunContext },
    predictions: predictions as Prediction[],
    metrics: metrics as Record<string, Metrics>,
    epochs,
  };
}

/** Whether process `pid` runs on this host. */
function pidAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (Deno.build.os === "linux") {
    try {
      Deno.statSync(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  }
  try {
    return new Deno.Command("kill", {
      args: ["-0", String(pid)],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return true; // cannot tell: assume it lives
  }
}

/** How often the owner of a claim refreshes its heartbeat. */
export const CLAIM_HEARTBEAT_MS = 30_000;

/**
 * How old the heartbeat of another host's claim may be before the claim
 * is stale (generous: clocks of NFS clients differ, and a long synchronous
 * training step delays the heartbeat).
 */
export const CLAIM_STALE_MS = 10 * 60_000;

/** What `claim.json` holds: who runs the job. */
export interface ClaimRecord {
  /** the owner's process id. */
  pid: number;
  /** the owner's host name. */
  host: string;
  /** random id of this claim (tells a claim from its successor). */
  token: string;
  /** ISO time the claim was made. */
  startedAt: string;
  /** ISO time the owner last refreshed the claim. */
  heartbeatAt: string;
}

/**
 * The claim of a job folder, or null when nobody claims it. A claim file
 * that cannot be read as a claim (a disk error) is returned as an unknown
 * owner (pid -1, host "") whose heartbeat is the file's modification time,
 * so that it turns stale after {@link CLAIM_STALE_MS}.
 *
 * @param jobDir the job's folder.
 */
export async function readClaim(jobDir: string): Promise<ClaimRecord | null> {
  return await readClaimFile(join(jobDir, JOB_FILES.claim));
}

async function readClaimFile(path: string): Promise<ClaimRecord | null> {
  let text: string;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const c = JSON.parse(text) as Partial<ClaimRecord>;
    if (
      typeof c.pid === "number" && typeof c.host === "string" &&
      typeof c.token === "string" && typeof c.startedAt === "string" &&
      typeof c.heartbeatAt === "string"
    ) {
      return {
        pid: c.pid,
        host: c.host,
        token: c.token,
        startedAt: c.startedAt,
        heartbeatAt: c.heartbeatAt,
      };
    }
  } catch {
    // fall through: an unreadable claim
  }
  const at = (info.mtime ?? new Date(0)).toISOString();
  return { pid: -1, host: "", token: "", startedAt: at, heartbeatAt: at };
}

/**
 * Whether a claim's owner still runs the job: on this host, whether its
 * process is alive; on another host, whether its heartbeat is younger than
 * {@link CLAIM_STALE_MS}.
 *
 * @param claim the claim ({@link readClaim}).
 * @param now the current time.
 */
export function claimIsLive(
  claim: ClaimRecord,
  now: Date = new Date(),
): boolean {
  if (claim.host === Deno.hostname()) return pidAlive(claim.pid);
  const beat = Date.parse(claim.heartbeatAt);
  return Number.isFinite(beat) && now.getTime() - beat < CLAIM_STALE_MS;
}

/**
 * Creates `path` with `text` only when it does not exist, atomically and
 * with its full content (a private file hard-linked into place).
 */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const tmp = tempPath(path);
  await Deno.writeTextFile(tmp, text);
  try {
    await Deno.link(tmp, path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    // NFS may report a failure of a link that was made: trust the count
    if ((await Deno.stat(tmp).catch(() => null))?.nlink === 2) return true;
    throw e;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/** How long a takeover lock (`claim.json.lock`) of another host counts as held. */
const TAKEOVER_LOCK_MS = 60_000;

/**
 * Removes the stale claim `held` from `path` so that a new one can be
 * created: under a takeover lock (`<path>.lock`, created exclusively), the
 * claim is read again and moved aside only while it is still `held` (else
 * another process took over first: `live`). `busy`: another process holds
 * the lock (one of a dead process on this host, or older than a minute, is
 * removed); `gone`: the stale claim is gone.
 */
async function takeOver(
  path: string,
  held: ClaimRecord,
  text: string,
): Promise<"gone" | "live" | "busy"> {
  const lock = `${path}.lock`;
  if (!(await createExclusive(lock, text))) {
    const owner = await readClaimFile(lock);
    const live = owner !== null &&
      (owner.host === Deno.hostname()
        ? pidAlive(owner.pid)
        : Date.now() - Date.parse(owner.heartbeatAt) < TAKEOVER_LOCK_MS);
    if (owner && !live) await Deno.remove(lock).catch(() => {});
    return "busy";
  }
  try {
    const now = await readClaimFile(path);
    if (now === null) return "gone";
    if (now.token !== held.token) return claimIsLive(now) ? "live" : "busy";
    // move it aside under a unique name, then check what moved
    const aside =
      `${path}.stale-${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID()}`;
    try {
      await Deno.rename(path, aside);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return "gone";
      throw e;
    }
    const moved = await readClaimFile(aside);
    if (moved?.token !== held.token) {
      // replaced between the read and the rename: give it back
      await Deno.link(aside, path).catch(() => {});
      await Deno.remove(aside).catch(() => {});
      return "live";
    }
    await Deno.remove(aside).catch(() => {});
    return "gone";
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

/** This process's claim on a job ({@link RunStore.claim}). */
export class JobClaim {
  /** the claim file. */
  readonly path: string;
  /** what this process wrote in it. */
  readonly record: ClaimRecord;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lost = false;

  /**
   * Wraps a claim this process made; {@link JobClaim.startHeartbeat}
   * refreshes it.
   *
   * @param path the claim file.
   * @param record its content.
   */
  constructor(path: string, record: ClaimRecord) {
    this.path = path;
    this.record = record;
  }

  /** True once the claim was found taken by another process. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Refreshes the heartbeat every `intervalMs` until released. */
  startHeartbeat(intervalMs: number = CLAIM_HEARTBEAT_MS): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => {
      this.heartbeat().catch(() => {});
    }, intervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /**
   * Writes a fresh `heartbeatAt` (and so a new modification time) when the
   * claim is still this process's; returns false when it is not.
   */
  async heartbeat(): Promise<boolean> {
    const current = await readClaimFile(this.path);
    if (current?.token !== this.record.token) {
      this.#lost = true;
      this.#stop();
      return false;
    }
    this.record.heartbeatAt = new Date().toISOString();
    await writeJsonAtomic(this.path, this.record);
    return true;
  }

  /** Whether `claim.json` is still this claim. */
  async owned(): Promise<boolean> {
    return (await readClaimFile(this.path))?.token === this.record.token;
  }

  /** Stops the heartbeat and removes the claim file if it is still ours. */
  async release(): Promise<void> {
    this.#stop();
    if (await this.owned()) await Deno.remove(this.path).catch(() => {});
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The records of one experiment under a run root. */
export class RunStore {
  /** `<root>/<experiment>`. */
  readonly dir: string;

  /**
   * Opens the records of `experiment` under `root` (nothing is read yet).
   *
   * @param root the run root (`--out`, default `runs`).
   * @param experiment the experiment name.
   */
  constructor(root: string, experiment: string) {
    this.dir = join(root, experiment);
  }

  /** The folder of a job. */
  jobDir(job: Pick<Job, "id">): string {
    return join(this.dir, job.id);
  }

  /** A file of a job. */
  path(job: Pick<Job, "id">, file: keyof typeof JOB_FILES): string {
    return join(this.jobDir(job), JOB_FILES[file]);
  }

  /**
   * True when the job finished and its records are intact ({@link check}).
   */
  async isDone(job: Pick<Job, "id" | "hash">): Promise<boolean> {
    return (await this.check(job)).state === "done";
  }

  #checked = new Map<string, { key: string; state: JobState }>();

  /**
   * The state of a job's records: `todo` without a `done.json` naming its
   * hash; `damaged` when `done.json` is not JSON, a file it lists is
   * missing or has another size or checksum, or (for every record) a JSON
   * file does not parse or is empty; else `done`. A result is remembered
   * while the files' sizes and modification times stay the same, so
   * checking again (on report) does not re-read the weights.
   */
  async check(job: Pick<Job, "id" | "hash">): Promise<JobState> {
    const donePath = this.path(job, "done");
    const stats = await Promise.all(
      CHECKED.map((f) => statOrNull(this.path(job, f))),
    );
    const doneStat = await statOrNull(donePath);
    if (!doneStat) return { state: "todo" };
    const key = JSON.stringify([
      job.hash,
      ...[doneStat, ...stats].map((s) =>
        s && [s.ino, s.size, s.mtime?.getTime(), s.ctime?.getTime()]
      ),
    ]);
    const cached = this.#checked.get(job.id);
    if (cached?.key === key) return cached.state;
    const state = await this.#check(job, stats);
    this.#checked.set(job.id, { key, state });
    return state;
  }

  async #check(
    job: Pick<Job, "id" | "hash">,
    stats: (Deno.FileInfo | null)[],
  ): Promise<JobState> {
    let done: DoneRecord;
    try {
      done = await readJson(this.path(job, "done")) as DoneRecord;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { state: "todo" };
      return { state: "damaged", problem: (e as Error).message };
    }
    if (done?.hash !== job.hash) return { state: "todo" };
    const files: Record<string, FileRecord | undefined> = done.files ?? {};
    const names = new Set([
      ...(done.files ? [] : REQUIRED),
      ...Object.keys(files),
    ]);
    for (const name of names) {
      const path = join(this.jobDir(job), name);
      const at = CHECKED.findIndex((f) => JOB_FILES[f] === name);
      const info = at >= 0 ? stats[at] : await statOrNull(path);
      const want = files[name];
      if (!info) {
        return {
          state: "damaged",
          problem: `${path}: missing${
            want ? ` (done.json records ${want.size} bytes)` : ""
          }`,
        };
      }
      if (!want) continue;
      if (info.size !== want.size) {
        return {
          state: "damaged",
          problem:
            `${path}: ${info.size} bytes, done.json records ${want.size} (truncated or changed)`,
        };
      }
      if ((await fileRecord(path)).sha256 !== want.sha256) {
        return {
          state: "damaged",
          problem:
            `${path}: content changed (its SHA-256 differs from done.json's)`,
        };
      }
    }
    let content;
    try {
      content = await readContent(this, job);
    } catch (e) {
      return { state: "damaged", problem: (e as Error).message };
    }
    return {
      state: "done",
      done,
      kernelSet: done.kernelSet ?? kernelSetOf(content.jobJson.context),
    };
  }

  /**
   * Checks once, before any job, that the experiment's folder can be
   * created and written; throws a {@link StoreError} naming it otherwise.
   * Leaves nothing behind (folders it had to create are removed again).
   */
  async checkWritable(): Promise<void> {
    const created: string[] = [];
    for (let d = this.dir; !(await statOrNull(d).catch(() => null));) {
      created.push(d);
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
    const probe = join(this.dir, `.write-test-${Deno.hostname()}-${Deno.pid}`);
    try {
      await Deno.mkdir(this.dir, { recursive: true });
      await Deno.writeTextFile(probe, "merba\n");
      await Deno.remove(probe);
    } catch (e) {
      await Deno.remove(probe).catch(() => {});
      throw new StoreError(
        `run folder ${this.dir} is not writable (${
          (e as Error).message.split(":")[0]
        }): choose another --out`,
      );
    } finally {
      // only when still empty: another process may be filling it already
      for (const d of created) await Deno.remove(d).catch(() => {});
    }
  }

  /**
   * Claims a job for this process: creates its `claim.json` exclusively
   * and starts the heartbeat; a stale claim (see {@link claimIsLive}) is
   * taken over. Returns null when a live process holds the job.
   */
  async claim(job: Pick<Job, "id">): Promise<JobClaim | null> {
    const dir = this.jobDir(job);
    await Deno.mkdir(dir, { recursive: true });
    const path = join(dir, JOB_FILES.claim);
    const now = new Date().toISOString();
    const record: ClaimRecord = {
      pid: Deno.pid,
      host: Deno.hostname(),
      token: crypto.randomUUID(),
      startedAt: now,
      heartbeatAt: now,
    };
    const text = JSON.stringify(record, null, 2) + "\n";
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await createExclusive(path, text)) {
        const claim = new JobClaim(path, record);
        claim.startHeartbeat();
        return claim;
      }
      const held = await readClaimFile(path);
      if (held === null) continue; // released meanwhile: try again
      if (claimIsLive(held)) return null;
      const taken = await takeOver(path, held, text);
      if (taken === "live") return null;
      if (taken === "busy") {
        await new Promise((r) => setTimeout(r, 10 + 40 * Math.random()));
      }
    }
    return null;
  }

  /**
   * Starts a job (call it holding the job's claim): removes a stale
   * `done.json` and the temporary files an interrupted run left (this
   * process's, those of dead processes on this host, and other hosts' older
   * than {@link CLAIM_STALE_MS}; never a live writer's), then writes
   * `job.json`.
   */
  async start(job: Job, context: RunContext): Promise<void> {
    await Deno.mkdir(this.jobDir(job), { recursive: true });
    await Deno.remove(this.path(job, "done")).catch(() => {});
    const host = Deno.hostname();
    for await (const e of Deno.readDir(this.jobDir(job))) {
      const owner = e.isFile ? tempOwner(e.name) : null;
      if (!owner) continue;
      const path = join(this.jobDir(job), e.name);
      let abandoned: boolean;
      if (owner.host === null || owner.host === host) {
        abandoned = owner.pid === Deno.pid || !pidAlive(owner.pid);
      } else {
        const mtime = (await statOrNull(path))?.mtime?.getTime() ?? Infinity;
        abandoned = Date.now() - mtime > CLAIM_STALE_MS;
      }
      if (abandoned) await Deno.remove(path).catch(() => {});
    }
    this.#checked.delete(job.id);
    await writeJsonAtomic(this.path(job, "job"), { ...job, context });
  }

  /** Rewrites `epochs.jsonl` with the epochs so far. */
  async writeEpochs(
    job: Pick<Job, "id">,
    epochs: EpochRecord[],
  ): Promise<void> {
    await writeFileAtomic(
      this.path(job, "epochs"),
      epochs.map((e) => JSON.stringify(e) + "\n").join(""),
    );
  }

  /**
   * Writes the weights through `write(tmpPath)` (e.g. the model library's
   * `saveSafetensors`), then renames the file into place.
   */
  async writeWeights(
    job: Pick<Job, "id">,
    write: (path: string) => Promise<void>,
  ): Promise<void> {
    const target = this.path(job, "weights");
    const tmp = tempPath(target);
    try {
      await write(tmp);
      await Deno.rename(tmp, target);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }

  /**
   * Writes a finished job's records, then `done.json` with the kernel set
   * (from `job.json`) and the size and checksum of every file. Throws a
   * {@link StoreError} instead of writing `done.json` when another process
   * holds the job's claim (this process's claim went stale and was taken
   * over).
   */
  async finish(
    job: Pick<Job, "id" | "hash">,
    outcome: JobOutcome,
  ): Promise<void> {
    await writeJsonAtomic(this.path(job, "predictions"), outcome.predictions);
    await writeJsonAtomic(this.path(job, "metrics"), outcome.metrics);
    await this.writeEpochs(job, outcome.epochs);
    const files: Record<string, FileRecord> = {};
    for (const f of CHECKED) {
      const path = this.path(job, f);
      if (f === "weights" && !(await statOrNull(path))) continue;
      files[JOB_FILES[f]] = await fileRecord(path);
    }
    const jobJson = await readJson(this.path(job, "job")) as {
      context?: RunContext;
    };
    const claim = await readClaim(this.jobDir(job));
    if (claim && (claim.host !== Deno.hostname() || claim.pid !== Deno.pid)) {
      throw new StoreError(
        `${
          join(this.jobDir(job), JOB_FILES.claim)
        }: the job was taken over by ${
          claim.host || "another process"
        } pid ${claim.pid} while this process ran it (its claim went stale); this run's results are not recorded`,
      );
    }
    const done: DoneRecord = {
      hash: job.hash,
      finishedAt: new Date().toISOString(),
      seconds: outcome.seconds,
      bestEpoch: outcome.bestEpoch,
      stoppedEarly: outcome.stoppedEarly,
      kernelSet: kernelSetOf(jobJson?.context),
      files,
    };
    await writeJsonAtomic(this.path(job, "done"), done);
  }

  /**
   * A finished job's records, or null when it has not finished; throws a
   * {@link StoreError} naming the file when they are damaged (see
   * {@link check}). `done.kernelSet` is always set (for records written
   * before it existed, derived from `job.json`'s backend).
   */
  async read(job: Pick<Job, "id" | "hash">): Promise<JobRecord | null> {
    const state = await this.check(job);
    if (state.state === "todo") return null;
    if (state.state === "damaged") {
      throw new StoreError(
        `${state.problem}; rerun the experiment to redo job ${job.id}`,
      );
    }
    const { predictions, metrics, epochs } = await readContent(this, job);
    // older records: the kernel set derived from job.json's backend
    const done = { ...state.done, kernelSet: state.kernelSet };
    return { done, predictions, metrics, epochs };
  }
}
