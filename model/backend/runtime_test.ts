import * as tf from "@tensorflow/tfjs";
import {
  availableBackends,
  guardWebgpuTensorBytes,
  initBackend,
  webgpuAvailable,
} from "./runtime.ts";
import {
  blasFallbackKernel,
  blasKernelRegistered,
  blasSettingFromEnv,
  blasStatus,
  loadBlas,
} from "./blas/mod.ts";
import {
  conv2DBackpropFilterViaConv,
  conv2DBackpropInputViaConv,
} from "./kernels/conv_backprop.ts";
import { nativeKernelConfig } from "./kernels/register.ts";

const hasGpu = await webgpuAvailable();

async function expectReject(
  p: Promise<unknown>,
  pattern: RegExp,
): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (pattern.test((e as Error).message)) return;
    throw new Error(
      `message "${(e as Error).message}" does not match ${pattern}`,
    );
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}

Deno.test("initBackend('wasm') starts SIMD wasm, single-threaded, and reports why", async () => {
  const info = await initBackend("wasm", { threads: 4 });
  if (tf.getBackend() !== "wasm" || info.name !== "wasm") {
    throw new Error(`active ${tf.getBackend()}`);
  }
  if (!info.simd) throw new Error("SIMD should be on with Deno's V8");
  if (info.threads !== 1) throw new Error(`threads ${info.threads}`);
  if (info.versions["tfjs-backend-wasm"] !== "4.22.0") {
    throw new Error(JSON.stringify(info.versions));
  }
  if (!info.notes.some((n) => /single-threaded/.test(n))) {
    throw new Error(info.notes.join("; "));
  }
  if (!info.notes.some((n) => /4 requested, 1 used/.test(n))) {
    throw new Error(info.notes.join("; "));
  }
  const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
  const v = Array.from(await y.data());
  if (v.join() !== "17,39") throw new Error(`matMul gave ${v}`);
});

Deno.test("the wasm binaries load from the installed package with network access denied", async () => {
  const script = `
    import { initBackend } from ${
    JSON.stringify(new URL("./runtime.ts", import.meta.url).href)
  };
    import * as tf from "@tensorflow/tfjs";
    const info = await initBackend("wasm");
    const s = await tf.sum(tf.tensor1d([1, 2, 3])).data();
    console.log(JSON.stringify({ name: info.name, simd: info.simd, sum: s[0] }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--deny-net",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      script,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ??
    "";
  if (!out.success) {
    throw new Error(
      `subprocess failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
    );
  }
  const r = JSON.parse(text);
  if (r.name !== "wasm" || r.simd !== true || r.sum !== 6) {
    throw new Error(text);
  }
});

Deno.test("initBackend('cpu') activates the cpu backend", async () => {
  const info = await initBackend("cpu");
  if (tf.getBackend() !== "cpu" || info.simd || info.threads !== 1) {
    throw new Error(JSON.stringify(info));
  }
});

Deno.test("initBackend registers the provided wasm kernels", async () => {
  await initBackend("wasm");
  for (
    const k of [
      "Conv2DBackpropFilter",
      "DepthwiseConv2dNativeBackpropFilter",
      "DepthwiseConv2dNativeBackpropInput",
      "UnsortedSegmentSum",
    ]
  ) {
    if (!tf.getKernel(k, "wasm")) {
      throw new Error(`${k} is not registered for wasm`);
    }
  }
});

Deno.test("availableBackends lists wasm and cpu, and webgpu exactly when an adapter exists", async () => {
  const names = await availableBackends();
  if (names[0] !== "wasm" || names[1] !== "cpu") throw new Error(names.join());
  if (names.includes("webgpu") !== hasGpu) {
    throw new Error(
      `webgpu listed ${names.includes("webgpu")}, adapter ${hasGpu}`,
    );
  }
});

Deno.test("initBackend rejects bad options and an unavailable tensorflow backend with clear messages", async () => {
  await expectReject(
    initBackend("wasm", { threads: 0 }),
    /threads must be a positive integer, got 0/,
  );
  await expectReject(initBackend("metal" as "wasm"), /unknown backend "metal"/);
  if (!(await availableBackends()).includes("tensorflow")) {
    await expectReject(
      initBackend("tensorflow"),
      // not set up, or (WebGPU was probed above) refused instead of a crash
      /backend "tensorflow" (is not set up: run `deno task setup:tensorflow`|cannot load in this process: WebGPU was started first)/,
    );
  }
});

Deno.test({
  name:
    "webgpu: starts, computes, and throws instead of computing wrong results on oversized tensors",
  ignore: !hasGpu,
  fn: async () => {
    const info = await initBackend("webgpu");
    if (tf.getBackend() !== "webgpu") {
      throw new Error(`active ${tf.getBackend()}`);
    }
    if (!info.notes.some((n) => /dataSync/.test(n))) {
      throw new Error(info.notes.join("; "));
    }
    const s = await tf.sum(tf.tensor1d([1, 2, 3])).data();
    if (s[0] !== 6) throw new Error(`sum ${s[0]}`);
    const remove = guardWebgpuTensorBytes(1 << 20);
    try {
      let err = "";
      try {
        tf.zeros([1 << 19]); // 2 MiB upload
      } catch (e) {
        err = (e as Error).message;
      }
      if (!/shape \[524288\] needs 2097152 bytes/.test(err)) {
        throw new Error(`upload: "${err}"`);
      }
      const small = tf.ones([1 << 10]);
      err = "";
      try {
        tf.tile(small, [1 << 9]); // kernel output of 2 MiB
      } catch (e) {
        err = (e as Error).message;
      }
      small.dispose();
      if (!/storage binding limit/.test(err)) {
        throw new Error(`kernel output: "${err}"`);
      }
    } finally {
      remove();
    }
    const ok = tf.zeros([1 << 19]);
    ok.dispose();
    await initBackend("webgpu"); // reinstalls the device's own limit
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "webgpu: a long narrow matmul (split-K territory) is bit-identical run to run",
  ignore: !hasGpu,
  fn: async () => {
    await initBackend("webgpu");
    try {
      const a = tf.randomUniform([1, 64, 4096], -1, 1, "float32", 7);
      const b = tf.randomUniform([1, 4096, 64], -1, 1, "float32", 8);
      const first = await tf.matMul(a, b).data();
      for (let run = 0; run < 4; run++) {
        const again = await tf.matMul(a, b).data();
        for (let i = 0; i < first.length; i++) {
          if (first[i] !== again[i]) {
            throw new Error(`run ${run}: element ${i} differs`);
          }
        }
      }
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

/** Whether a BLAS library opens here (closed again at once). */
function blasFound(): boolean {
  const b = loadBlas();
  b?.close();
  return b !== null;
}

const blasDefault = blasSettingFromEnv().mode !== "off" && blasFound();

Deno.test({
  name:
    "with BLAS found, initBackend('wasm') serves BatchMatMul and the conv gradients from BLAS over the provided kernels, and a second call keeps them",
  ignore: !blasDefault,
  async fn() {
    for (let call = 0; call < 3; call++) {
      // wasm, cpu, wasm: every initBackend re-runs registerProvidedKernels
      const info = await initBackend(call === 1 ? "cpu" : "wasm");
      const backend = call === 1 ? "cpu" : "wasm";
      const status = blasStatus();
      if (!status || !info.blas) {
        throw new Error(`call ${call}: BLAS off: ${info.notes.join("; ")}`);
      }
      if (
        info.blas.threads !== status.threads || info.blas.path !== status.path
      ) {
        throw new Error(JSON.stringify(info.blas));
      }
      const want = backend === "wasm"
        ? [
          "BatchMatMul",
          "Conv2DBackpropFilter",
          "Conv2DBackpropInput",
          "GatherV2",
        ]
        : [
          "BatchMatMul",
          "Conv2D",
          "Conv2DBackpropFilter",
          "Conv2DBackpropInput",
          "GatherV2",
        ];
      if (info.blas.kernels.join() !== want.join()) {
        throw new Error(`call ${call}: kernels ${info.blas.kernels}`);
      }
      if (
        !info.notes.some((n) =>
          n.startsWith("BLAS: ") && n.includes(status.path)
        )
      ) {
        throw new Error(info.notes.join("; "));
      }
      for (
        const k of [
          "BatchMatMul",
          "Conv2DBackpropFilter",
          "Conv2DBackpropInput",
        ]
      ) {
        for (const b of ["wasm", "cpu"]) {
          if (!blasKernelRegistered(k, b)) {
            throw new Error(`call ${call}: ${b}/${k} is not the BLAS kernel`);
          }
        }
      }
    }
    // the BLAS kernels fall back on what they replaced: the provided wasm
    // conv gradients, and wasm's own BatchMatMul
    if (
      blasFallbackKernel("Conv2DBackpropInput", "wasm")?.kernelFunc !==
        conv2DBackpropInputViaConv ||
      blasFallbackKernel("Conv2DBackpropFilter", "wasm")?.kernelFunc !==
        conv2DBackpropFilterViaConv
    ) {
      throw new Error(
        "the wasm conv gradients do not fall back on the provided kernels",
      );
    }
    const mm = blasFallbackKernel("BatchMatMul", "wasm");
    if (!mm || mm.setupFunc === undefined) {
      throw new Error("BatchMatMul does not fall back on wasm's own kernel");
    }
    // and the provided kernel's record of wasm's own is not the BLAS one
    const native = nativeKernelConfig("Conv2DBackpropInput", "wasm");
    if (
      !native || native.kernelFunc === conv2DBackpropInputViaConv ||
      native.kernelFunc ===
        tf.getKernel("Conv2DBackpropInput", "wasm")!.kernelFunc
    ) {
      throw new Error(
        "nativeKernelConfig(Conv2DBackpropInput) is not wasm's own",
      );
    }
    // a conv transpose through the chain still computes: 1×1 kernel of ones
    const y = tf.conv2dTranspose(
      tf.ones([1, 2, 2, 1]) as tf.Tensor4D,
      tf.ones([1, 1, 1, 1]) as tf.Tensor4D,
      [1, 2, 2, 1],
      1,
      "valid",
    );
    if (Array.from(await y.data()).join() !== "1,1,1,1") {
      throw new Error(`conv2dTranspose gave ${await y.data()}`);
    }
  },
});

/** Runs initBackend(backend) in a fresh process; its JSON line or error. */
async function initInSubprocess(
  backend: "wasm" | "cpu",
  env: Record<string, string>,
  ffi: boolean,
): Promise<{ ok: boolean; out: string; err: string }> {
  const script = `
    import { initBackend } from ${
    JSON.stringify(new URL("./runtime.ts", import.meta.url).href)
  };
    const info = await initBackend(${JSON.stringify(backend)});
    console.log(JSON.stringify({ blas: info.blas, notes: info.notes }));
  `;
  // a file run with `deno run` (`deno eval` grants every permission)
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const root = new URL("../..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      root + "deno.json",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      ...(ffi ? ["--allow-ffi"] : []),
      file,
    ],
    cwd: root,
    env: { MERBA_BLAS: "", MERBA_BLAS_THREADS: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  const dec = new TextDecoder();
  return {
    ok: out.success,
    out: dec.decode(out.stdout).trim().split("\n").pop() ?? "",
    err: dec.decode(out.stderr),
  };
}

Deno.test("MERBA_BLAS: unset falls back silently without a library, 0 turns BLAS off, 1 without a library is an error naming it", async () => {
  // without --allow-ffi no library can be opened: "not found"
  const unset = await initInSubprocess("cpu", {}, false);
  if (!unset.ok) throw new Error(unset.err.slice(-2000));
  const u = JSON.parse(unset.out);
  if (
    u.blas !== null ||
    !u.notes.some((n: string) => /no BLAS library found/.test(n))
  ) {
    throw new Error(unset.out);
  }
  if (/MERBA_BLAS/.test(unset.err)) throw new Error(`not silent: ${unset.err}`);
  const required = await initInSubprocess("wasm", { MERBA_BLAS: "1" }, false);
  if (
    required.ok || !/MERBA_BLAS=1: no BLAS library found/.test(required.err)
  ) {
    throw new Error(
      `MERBA_BLAS=1 without a library: ${required.out} ${
        required.err.slice(-2000)
      }`,
    );
  }
  const off = await initInSubprocess("wasm", { MERBA_BLAS: "0" }, true);
  if (!off.ok) throw new Error(off.err.slice(-2000));
  const o = JSON.parse(off.out);
  if (o.blas !== null || !o.notes.some((n: string) => /^BLAS off/.test(n))) {
    throw new Error(off.out);
  }
  const bad = await initInSubprocess("cpu", { MERBA_BLAS_THREADS: "0" }, true);
  if (
    bad.ok ||
    !/MERBA_BLAS_THREADS must be a positive integer, got "0"/.test(bad.err)
  ) {
    throw new Error(`MERBA_BLAS_THREADS=0: ${bad.out} ${bad.err.slice(-2000)}`);
  }
  if (!blasFound()) return;
  const two = await initInSubprocess("cpu", { MERBA_BLAS_THREADS: "2" }, true);
  if (!two.ok) throw new Error(two.err.slice(-2000));
  const t = JSON.parse(two.out);
  if (
    t.blas?.threads !== 2 ||
    !t.notes.some((n: string) => /with 2 threads/.test(n))
  ) {
    throw new Error(two.out);
  }
});
