/**
 * End-to-end check of `gpu:pack` (run by hand; minutes): packs (or takes
 * `--archive`), unpacks into a temporary folder, and runs `run.sh` there
 * with the network cut off (`unshare -n` when it works, else HTTP(S)/ALL
 * proxies pointing at a closed local port), once per backend, checking that
 * each run exits 0 and writes its report; then `run.sh bench` tiny.
 *
 * `--no-weights` runs the spec with the project's dependencies minus
 * `saveSafetensors` (via `MERBA_DEPS`), for backends on which saving the
 * weights fails (model/safetensors.ts reads them with `dataSync()`, which
 * webgpu lacks); what is skipped is printed.
 *
 * Usage:
 * ```sh
 * deno run -A scripts/gpu/e2e.ts [--archive FILE] [--backends wasm,webgpu]
 *   [--preset smoke] [--no-weights webgpu] [--keep]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { packRun } from "./pack.ts";

/** How the network is cut off for the runs. */
export async function offlineWrapper(): Promise<
  { prefix: string[]; env: Record<string, string>; how: string }
> {
  try {
    const ok = await new Deno.Command("unshare", {
      args: ["-n", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (ok.success) {
      return {
        prefix: ["unshare", "-n"],
        env: {},
        how: "unshare -n (no network interfaces)",
      };
    }
  } catch {
    // no unshare: fall back to dead proxies
  }
  const dead = "http://127.0.0.1:9";
  return {
    prefix: [],
    env: {
      HTTP_PROXY: dead,
      HTTPS_PROXY: dead,
      ALL_PROXY: dead,
      http_proxy: dead,
      https_proxy: dead,
    },
    how: `proxies at ${dead} (closed port)`,
  };
}

async function run(
  cmd: string[],
  env: Record<string, string>,
  log: string,
): Promise<{ code: number; seconds: number }> {
  const t0 = performance.now();
  const file = await Deno.open(log, {
    write: true,
    create: true,
    truncate: true,
  });
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = file.writable.getWriter();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) await w.write(chunk);
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout),
    pump(child.stderr),
  ]);
  await w.close();
  return { code: status.code, seconds: (performance.now() - t0) / 1000 };
}

async function tail(path: string, n: number): Promise<string> {
  const text = await Deno.readTextFile(path);
  return text.trim().split("\n").slice(-n).join("\n");
}

/** CLI entry; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      archive: { type: "string" },
      backends: { type: "string", default: "wasm,webgpu" },
      preset: { type: "string", default: "smoke" },
      "no-weights": { type: "string", default: "" },
      keep: { type: "boolean", default: false },
    },
    strict: true,
  });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const work = await Deno.makeTempDir({ prefix: "merba_gpu_e2e_" });
  let archive = values.archive;
  if (!archive) {
    const r = await packRun({
      root,
      spec: join(root, "experiments/table7.ts"),
      preset: values.preset,
      backend: "webgpu",
      out: join(work, "merba-gpu.tar"),
      log: (s) => console.log(s),
    });
    archive = r.archive;
  }
  const size = (await Deno.stat(archive)).size;
  console.log(`archive ${archive}: ${(size / 2 ** 20).toFixed(1)} MiB`);
  const unpack = join(work, "target");
  await Deno.mkdir(unpack);
  const tar = await new Deno.Command("tar", {
    args: ["-xf", archive, "-C", unpack],
  }).output();
  if (!tar.success) {
    console.error(new TextDecoder().decode(tar.stderr));
    return 1;
  }
  const dir = join(unpack, "merba-gpu");
  const off = await offlineWrapper();
  console.log(`network cut off with ${off.how}`);
  const noWeights = new Set(values["no-weights"].split(",").filter(Boolean));
  let failed = 0;
  for (const backend of values.backends.split(",")) {
    const out = join(work, `runs_${backend}`);
    const env = { ...off.env };
    if (noWeights.has(backend)) {
      // the project dir exists after a first run.sh; make sure it does
      await run(
        [...off.prefix, join(dir, "run.sh"), "--help"],
        off.env,
        join(work, "unpack.log"),
      );
      const deps = join(dir, "project", ".e2e_deps.ts");
      await Deno.writeTextFile(
        deps,
        `import { loadDeps } from "./dsl/deps.ts";
const all = await loadDeps();
delete all.saveSafetensors;
/** the project's dependencies without weight saving. */
export const deps = all;
`,
      );
      env.MERBA_DEPS = new URL(`file://${deps}`).href;
      console.log(`${backend}: weights are not saved (--no-weights)`);
    }
    const log = join(work, `run_${backend}.log`);
    const r = await run(
      [
        ...off.prefix,
        join(dir, "run.sh"),
        "--backend",
        backend,
        "--preset",
        values.preset,
        "--out",
        out,
      ],
      env,
      log,
    );
    let report = false;
    try {
      report =
        (await Deno.stat(join(out, "table7", "report", "table7.md"))).isFile;
    } catch {
      report = false;
    }
    const ok = r.code === 0 && report;
    if (!ok) failed++;
    console.log(
      `${backend}: exit ${r.code} in ${r.seconds.toFixed(0)} s, report ${
        report ? "written" : "MISSING"
      } — ${ok ? "ok" : "FAILED"} (log ${log})`,
    );
    if (!ok) console.log(await tail(log, 15));
    else {console.log(
        (await tail(log, 400)).split("\n").filter((l) => /jobs planned/.test(l))
          .join("\n"),
      );}
  }
  const blog = join(work, "bench.log");
  const b = await run(
    [
      ...off.prefix,
      join(dir, "run.sh"),
      "bench",
      "--backend",
      "wasm",
      "--model",
      "small",
      "--size",
      "32",
      "--samples",
      "4",
      "--batch",
      "2",
      "--torch-device",
      "none",
    ],
    off.env,
    blog,
  );
  console.log(
    `run.sh bench (tiny, wasm): exit ${b.code} in ${b.seconds.toFixed(0)} s`,
  );
  console.log(await tail(blog, 6));
  if (b.code !== 0) failed++;
  if (values.keep) console.log(`kept ${work}`);
  else await Deno.remove(work, { recursive: true });
  console.log(failed ? `${failed} check(s) FAILED` : "all checks passed");
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
