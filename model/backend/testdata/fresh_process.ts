/**
 * Runs a Deno module in a fresh process (`deno run -A`), for tests whose
 * subject is a process's own start-up (loading libtensorflow, thread
 * settings, bit-identical reruns).
 *
 * @module
 */

/** What the process returned and printed. */
export interface FreshRun {
  /** the exit code. */
  code: number;
  /** its standard output. */
  out: string;
  /** its standard error. */
  err: string;
}

/** Runs `module` with `args` in a fresh process (this one's environment, no colours). */
export async function runFresh(module: URL, args: string[]): Promise<FreshRun> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", module.pathname, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: r.code,
    out: dec.decode(r.stdout),
    err: dec.decode(r.stderr),
  };
}
