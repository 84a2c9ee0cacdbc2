import * as tf from "@tensorflow/tfjs";
import {
  deepStrictEqual as assertEquals,
  ok as assert,
} from "node:assert/strict";
import { conv2DBackpropInputViaConv } from "./conv_backprop.ts";
import { nativeKernelConfig, registerProvidedKernels } from "./register.ts";

const NAME = "Conv2DBackpropInput";

/** Puts `config` in the registry in place of whatever is there. */
function put(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

Deno.test("registerProvidedKernels keeps a kernel registered over a provided one, and replaces the native one again", () => {
  const first = registerProvidedKernels();
  const provided = tf.getKernel(NAME, "wasm")!;
  assert(provided.kernelFunc === conv2DBackpropInputViaConv);
  const native = nativeKernelConfig(NAME, "wasm");
  assert(native !== undefined, "the native kernel was not recorded");
  assert(native.kernelFunc !== conv2DBackpropInputViaConv);
  try {
    // a kernel layered over ours (as model/backend/blas does) survives the next call
    const layered: tf.KernelFunc = (args) =>
      (conv2DBackpropInputViaConv as tf.KernelFunc)(args);
    put({ kernelName: NAME, backendName: "wasm", kernelFunc: layered });
    const again = registerProvidedKernels();
    assert(tf.getKernel(NAME, "wasm")!.kernelFunc === layered);
    // it is not mistaken for the native kernel, and nothing is listed twice
    assert(nativeKernelConfig(NAME, "wasm")!.kernelFunc === native.kernelFunc);
    assertEquals(again, first);
    // the native kernel back in the registry is replaced by ours again
    put(native);
    assertEquals(registerProvidedKernels(), first);
    assert(
      tf.getKernel(NAME, "wasm")!.kernelFunc === conv2DBackpropInputViaConv,
    );
    // so is an empty slot
    tf.unregisterKernel(NAME, "wasm");
    registerProvidedKernels();
    assert(
      tf.getKernel(NAME, "wasm")!.kernelFunc === conv2DBackpropInputViaConv,
    );
  } finally {
    put({
      kernelName: NAME,
      backendName: "wasm",
      kernelFunc: provided.kernelFunc,
    });
  }
});

Deno.test("registerProvidedKernels lists each provided kernel once, with why", () => {
  const list = registerProvidedKernels();
  registerProvidedKernels();
  const keys = list.map((k) => `${k.backendName}/${k.kernelName}`);
  assertEquals(new Set(keys).size, keys.length);
  for (const k of list) {
    assert(k.reason.length > 0, `${k.kernelName} has no reason`);
    assert(tf.getKernel(k.kernelName, k.backendName) !== undefined);
  }
  assert(list.find((k) => k.kernelName === NAME)!.replaced);
  assert(!list.find((k) => k.kernelName === "UnsortedSegmentSum")!.replaced);
});
