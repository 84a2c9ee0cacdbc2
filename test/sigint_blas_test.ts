/**
 * Ctrl-C during a real run whose job workers compute with multi-threaded
 * OpenBLAS: the process exits (130) promptly instead of hanging in
 * OpenBLAS's shutdown (a worker terminated inside an sgemm call leaves
 * OpenBLAS's thread pool waiting at exit). Without OpenBLAS the run uses
 * TF.js' kernels and the test checks only the prompt exit.
 */
import assert from "node:assert/strict";
import { realEngineEnv } from "../scripts/testing.ts";

const RUN = new URL("../scripts/run.ts", import.meta.url).pathname;
const TABLE7 = new URL("../experiments/table7.ts", import.meta.url).pathname;

Deno.test("run CLI (subprocess): Ctrl-C while two workers train with 2-thread OpenBLAS exits with 130 within 60 s", async () => {
  const out = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      RUN,
      TABLE7,
      // the laptop model on the smoke preset's small synthetic set
      "--set",
      "dataset.options.subjects=24",
      "--set",
      "dataset.options.testSubjects=7",
      "--variant",
      "h",
      "--seed",
      "0,1",
      "--jobs",
      "2",
      "--out",
      out,
    ],
    clearEnv: true,
    env: {
      ...realEngineEnv(),
      MERBA_BLAS_THREADS: "2",
      MERBA_PROGRESS_INTERVAL: "0",
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  const decoder = new TextDecoder();
  let text = "";
  const reader = child.stdout.getReader();
  try {
    // wait until both jobs are training (each has logged an epoch)
    const started = Date.now();
    while (
      !/job 2\/2 .*epoch 1\//.test(text) || !/job 1\/2 .*epoch 1\//.test(text)
    ) {
      assert.ok(
        Date.now() - started < 300_000,
        `no training after 5 min:\n${text}`,
      );
      const { value, done } = await reader.read();
      assert.ok(!done, `the run ended before training:\n${text}`);
      text += decoder.decode(value, { stream: true });
    }
    child.kill("SIGINT");
    const readRest = (async () => {
      for (;;) {
        const { done } = await reader.read();
        if (done) return;
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<"hang">((r) => {
      timer = setTimeout(() => r("hang"), 60_000);
    });
    const ended = await Promise.race([child.status, hang]);
    clearTimeout(timer);
    if (ended === "hang") {
      child.kill("SIGKILL");
      await child.status;
    }
    await readRest;
    await stderr;
    assert.notEqual(
      ended,
      "hang",
      "the run did not exit within 60 s of Ctrl-C",
    );
    assert.equal((ended as Deno.CommandStatus).code, 130);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
