/**
 * Helpers for the CLI tests: running a CLI's `main` with its console
 * output captured, and reading a report folder for byte comparisons.
 *
 * @module
 */
import { join } from "node:path";

/** What a CLI's `main` returned and printed. */
export interface Captured {
  /** the exit code. */
  code: number;
  /** what it printed with `console.log`, lines joined. */
  out: string;
  /** what it printed with `console.error`, lines joined. */
  err: string;
}

/** Runs `main(args)` with `console.log`/`console.error` captured. */
export async function captureMain(
  main: (args: string[]) => Promise<number>,
  args: string[],
): Promise<Captured> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/**
 * The files of a report folder (relative path → bytes), without
 * `meta.json` (it records when the report was written).
 */
export async function reportFiles(
  dir: string,
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (d: string, rel: string) => {
    for await (const entry of Deno.readDir(d)) {
      const path = join(d, entry.name);
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(path, r);
      else if (entry.name !== "meta.json") {
        files.set(r, await Deno.readFile(path));
      }
    }
  };
  await walk(dir, "");
  return files;
}

/**
 * This process's environment without `MERBA_DEPS`, for a child process that
 * must run the real engine: test files of the same `deno test` point
 * `MERBA_DEPS` at stand-ins (pass it with `clearEnv: true`).
 */
export function realEngineEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.MERBA_DEPS;
  return env;
}
