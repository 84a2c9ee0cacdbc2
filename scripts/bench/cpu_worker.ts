/**
 * One side of `deno task bench:cpu` in its own process (thread counts are
 * fixed per process on the tensorflow backend): builds the MERba-small
 * workload of `merba_small.ts` on one backend and answers JSON-line
 * requests on stdin, as `cpu_torch.py` does.
 *
 * usage: deno run -A scripts/bench/cpu_worker.ts SIDE THREADS BATCH SIZE
 *
 * SIDE: `tensorflow` (libtensorflow, THREADS intra-op threads), `wasm`
 * (XNNPACK, single-threaded, BLAS off) or `wasm+blas` (OpenBLAS sgemm with
 * THREADS threads).
 *
 * First line: `{"ready": true, "side", "threads", "backend": BackendInfo}`
 * (or `{"error": …}`). Requests: `{"cmd": "train"}` / `{"cmd": "forward"}`
 * → `{"ms", "cpu_ms"}`; `{"cmd": "peak", "n": N}` → `{"gflops"}` of an
 * N×N×N matmul on this backend; `{"cmd": "quit"}`.
 *
 * @module
 */
import { initBackend } from "../../model/backend/runtime.ts";
import {
  blasStatus,
  disableBlasKernels,
  enableBlasKernels,
} from "../../model/backend/blas/mod.ts";
import {
  lineReader,
  merbaSmallConfig,
  merbaSmallWorkload,
  sgemmGflops,
} from "./merba_small.ts";

const [side, threadsArg, batchArg, sizeArg] = Deno.args;
const threads = Number(threadsArg), batch = Number(batchArg);
const say = (o: unknown) => console.log(JSON.stringify(o));
try {
  let info;
  if (side === "tensorflow") {
    info = await initBackend("tensorflow", { threads });
  } else if (side === "wasm" || side === "wasm+blas") {
    info = await initBackend("wasm");
    disableBlasKernels();
    if (side === "wasm+blas" && !enableBlasKernels({ threads })) {
      throw new Error("no BLAS library found");
    }
    const blas = blasStatus();
    info = {
      ...info,
      blas: blas
        ? {
          path: blas.path,
          config: blas.config,
          threads: blas.threads,
          kernels: blas.kernels.wasm ?? [],
        }
        : null,
    };
  } else {
    throw new Error(`unknown side ${JSON.stringify(side)}`);
  }
  const work = merbaSmallWorkload(merbaSmallConfig(Number(sizeArg)), batch);
  say({ ready: true, side, threads, backend: info });
  for await (const line of lineReader(Deno.stdin.readable)) {
    const req = JSON.parse(line);
    if (req.cmd === "quit") break;
    if (req.cmd === "peak") {
      say({ gflops: await sgemmGflops(req.n) });
      continue;
    }
    const t = req.cmd === "train"
      ? await work.trainStep()
      : await work.forward();
    say({ ms: t.ms, cpu_ms: t.cpu });
  }
} catch (e) {
  say({ error: (e as Error).message });
}
