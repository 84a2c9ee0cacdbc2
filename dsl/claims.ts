/**
 * Reading a job folder's claim (`claim.json`: which process is running the
 * job), as agreed with the run store: `{ pid, host, token, startedAt,
 * heartbeatAt }`, created exclusively by the process that runs the job and
 * refreshed (`heartbeatAt`) while it runs.
 *
 * This file holds only the reading side that `deno task status` needs
 * (the run store owns writing claims); it is meant to be reconciled with
 * the same exports of `dsl/store.ts`.
 *
 * @module
 */
import { join } from "node:path";

/** The claim file's name inside a job folder. */
export const CLAIM_FILE = "claim.json";

/** How long another host's claim stays live without a heartbeat (ms). */
export const CLAIM_STALE_MS = 10 * 60 * 1000;

/** What `claim.json` holds. */
export interface ClaimRecord {
  /** the claiming process's id (on `host`). */
  pid: number;
  /** the claiming process's host name. */
  host: string;
  /** a random token naming this claim. */
  token: string;
  /** ISO time the claim was made. */
  startedAt: string;
  /** ISO time of the last heartbeat. */
  heartbeatAt: string;
}

function isClaim(value: unknown): value is ClaimRecord {
  const c = value as Partial<ClaimRecord> | null;
  return c !== null && typeof c === "object" &&
    typeof c.pid === "number" && typeof c.host === "string" &&
    typeof c.token === "string" && typeof c.startedAt === "string" &&
    typeof c.heartbeatAt === "string";
}

/**
 * The claim of the job in `jobDir`, or null when there is none (or it is
 * torn or not a claim: a claim being written is read as absent).
 */
export async function readClaim(jobDir: string): Promise<ClaimRecord | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(jobDir, CLAIM_FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const value = JSON.parse(text);
    return isClaim(value) ? value : null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    return Deno.statSync(`/proc/${pid}`).isDirectory;
  } catch {
    return false;
  }
}

/**
 * True when the claiming process is still running the job: on this host,
 * its pid is alive; on another host, its heartbeat is younger than
 * {@link CLAIM_STALE_MS}.
 */
export function claimIsLive(
  claim: ClaimRecord,
  now: Date = new Date(),
): boolean {
  if (claim.host === Deno.hostname()) return pidAlive(claim.pid);
  const beat = Date.parse(claim.heartbeatAt);
  return Number.isFinite(beat) && now.getTime() - beat < CLAIM_STALE_MS;
}
