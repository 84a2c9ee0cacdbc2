import * as tf from "@tensorflow/tfjs";
import {
  availableBackends,
  guardWebgpuTensorBytes,
  initBackend,
  webgpuAvailable,
} from "./runtime.ts";

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

Deno.test("importing the runtime registers the provided wasm kernels", () => {
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

Deno.test("initBackend rejects bad options and a missing tfjs-node with clear messages", async () => {
  await expectReject(
    initBackend("wasm", { threads: 0 }),
    /threads must be a positive integer, got 0/,
  );
  await expectReject(initBackend("metal" as "wasm"), /unknown backend "metal"/);
  if (!(await availableBackends()).includes("tensorflow")) {
    await expectReject(
      initBackend("tensorflow"),
      /tfjs-node-gpu or @tensorflow\/tfjs-node installed/,
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
