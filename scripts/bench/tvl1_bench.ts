/**
 * Benchmark: our TV-L1 (`data/flow/tvl1.ts`) against OpenCV's DualTVL1
 * (python3-opencv, run by `scripts/bench/tvl1_opencv.py` in a subprocess) on
 * the same synthetic 224×224 pairs with known flow (translations, smooth
 * warps, local bumps). Prints mean end-point error and time per pair for
 * ours, OpenCV with its default thread count and OpenCV single-threaded, and
 * their ratios.
 *
 * ```sh
 * deno task bench:tvl1 [--size 224] [--per-kind 3] [--repeats 3] [--amplitude 2]
 * ```
 *
 * @module
 */

import {
  endPointError,
  type FlowPairKind,
  makeFlowPair,
} from "../../data/flow/synthetic_pairs.ts";
import { tvl1Flow } from "../../data/flow/tvl1.ts";

const KINDS: FlowPairKind[] = ["translation", "smooth_warp", "local_bump"];
const PYTHON = "/usr/bin/python3";
const OPENCV_SCRIPT = new URL("./tvl1_opencv.py", import.meta.url).pathname;

function argNumber(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(Deno.args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(
      `--${name} must be a positive number, got ${Deno.args[i + 1]}`,
    );
  }
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface OpencvRun {
  threads: number;
  opencv: string;
  pairs: { name: string; ms: number[]; cpu_ms: number[] }[];
}

/** CPU time of the calling thread in ms (Linux), or NaN elsewhere. */
function threadCpuMs(): number {
  try {
    return Number(
      Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0],
    ) / 1e6;
  } catch {
    return NaN;
  }
}

async function runOpencv(
  dir: string,
  threads: number,
  repeats: number,
): Promise<OpencvRun> {
  const out = await new Deno.Command(PYTHON, {
    args: [OPENCV_SCRIPT, dir, String(threads), String(repeats)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${PYTHON} ${OPENCV_SCRIPT} failed (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)) as OpencvRun;
}

async function main(): Promise<void> {
  const size = argNumber("size", 224);
  const perKind = argNumber("per-kind", 3);
  const repeats = argNumber("repeats", 3);
  const amplitude = argNumber("amplitude", 2);
  const dir = await Deno.makeTempDir({ prefix: "tvl1_bench_" });
  try {
    const pairs = [];
    for (const kind of KINDS) {
      for (let k = 0; k < perKind; k++) {
        const p = makeFlowPair(
          kind,
          size,
          1000 + 17 * k + KINDS.indexOf(kind),
          amplitude,
        );
        const name = `${kind}_${k}`;
        const raw = new Uint8Array(2 * size * size);
        raw.set(p.prev);
        raw.set(p.next, size * size);
        await Deno.writeFile(`${dir}/${name}.bin`, raw);
        pairs.push({ name, pair: p });
      }
    }
    await Deno.writeTextFile(
      `${dir}/pairs.json`,
      JSON.stringify(
        pairs.map(({ name }) => ({ name, width: size, height: size })),
      ),
    );

    const cvDefault = await runOpencv(dir, -1, repeats);
    const cvSingle = await runOpencv(dir, 1, repeats);

    // Ours: one warm-up run (JIT), then `repeats` timed runs per pair.
    tvl1Flow(pairs[0].pair.prev, pairs[0].pair.next, size, size);
    const rows: {
      kind: string;
      ours: number;
      cvD: number;
      cv1: number;
      diff: number;
      tOurs: number;
      tD: number;
      t1: number;
      cOurs: number;
      c1: number;
    }[] = [];
    const readFlow = async (name: string, threads: number) => {
      const b = await Deno.readFile(`${dir}/${name}.cv${threads}.flow`);
      const f = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      return { u: f.subarray(0, size * size), v: f.subarray(size * size) };
    };
    for (let i = 0; i < pairs.length; i++) {
      const { name, pair } = pairs[i];
      const times: number[] = [];
      const cpu: number[] = [];
      let flow = null;
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        const c0 = threadCpuMs();
        flow = tvl1Flow(pair.prev, pair.next, size, size);
        cpu.push(threadCpuMs() - c0);
        times.push(performance.now() - t0);
      }
      const cvFlow = await readFlow(name, -1);
      let diff = 0;
      for (let k = 0; k < size * size; k++) {
        diff = Math.max(
          diff,
          Math.abs(flow!.u[k] - cvFlow.u[k]),
          Math.abs(flow!.v[k] - cvFlow.v[k]),
        );
      }
      rows.push({
        kind: pair.kind,
        ours: endPointError(flow!, pair.flow, size, size),
        cvD: endPointError(cvFlow, pair.flow, size, size),
        cv1: endPointError(await readFlow(name, 1), pair.flow, size, size),
        diff,
        tOurs: median(times),
        tD: median(cvDefault.pairs[i].ms),
        t1: median(cvSingle.pairs[i].ms),
        cOurs: median(cpu),
        c1: median(cvSingle.pairs[i].cpu_ms),
      });
    }

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const f3 = (x: number) => x.toFixed(4);
    const f0 = (x: number) => x.toFixed(1);
    console.log(
      `TV-L1 benchmark: ${pairs.length} synthetic ${size}×${size} pairs (${perKind} per kind, ` +
        `amplitude ${amplitude} px), median of ${repeats} runs per pair; OpenCV ${cvDefault.opencv} ` +
        `DualTVL1 defaults; ours: Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), single-threaded, ` +
        `WebAssembly SIMD kernels. ${navigator.hardwareConcurrency} logical CPUs; load average ` +
        `${
          Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
        } at the start. Wall times depend on the ` +
        `machine's load (it is shared); CPU times (this thread for ours, the process for OpenCV 1 thr) ` +
        `less so.`,
    );
    console.log("");
    console.log(
      `| pairs | EPE ours | EPE OpenCV | EPE ratio | max \\|ours − OpenCV\\| px | wall ms ours | ` +
        `wall ms OpenCV (${cvDefault.threads} thr) | ratio | wall ms OpenCV (1 thr) | ratio | ` +
        `CPU ms ours | CPU ms OpenCV (1 thr) | ratio |`,
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    const line = (label: string, rs: typeof rows) => {
      const m = (f: (r: (typeof rows)[number]) => number) => mean(rs.map(f));
      const eo = m((r) => r.ours), ec = m((r) => r.cvD);
      const to = m((r) => r.tOurs), td = m((r) => r.tD), t1 = m((r) => r.t1);
      const co = m((r) => r.cOurs), c1 = m((r) => r.c1);
      console.log(
        `| ${label} | ${f3(eo)} | ${f3(ec)} | ${(eo / ec).toFixed(3)} | ` +
          `${Math.max(...rs.map((r) => r.diff)).toExponential(1)} | ${
            f0(to)
          } | ${f0(td)} | ` +
          `${(to / td).toFixed(2)} | ${f0(t1)} | ${(to / t1).toFixed(2)} | ${
            f0(co)
          } | ${f0(c1)} | ` +
          `${(co / c1).toFixed(2)} |`,
      );
    };
    for (const kind of KINDS) line(kind, rows.filter((r) => r.kind === kind));
    line("all", rows);
    const maxDiff = Math.max(...rows.map((r) => Math.abs(r.cvD - r.cv1)));
    console.log("");
    console.log(
      `OpenCV EPE with ${cvDefault.threads} vs 1 thread differs by at most ${
        maxDiff.toExponential(2)
      } px per pair.`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
