/**
 * The entry module of a preprocessing Worker started by
 * `preprocessRecords` (`data/pipeline.ts`). It installs the Worker's
 * message handler, so only Workers started on this module get one: a
 * Worker that merely imports `data/pipeline.ts` (e.g. a DSL job worker
 * loading the data layer) keeps its own handler.
 *
 * Messages in: `{type: "init", options}` (resolved preprocessing options),
 * then `{type: "job", job: {index, record}}`. Replies: `{type: "done",
 * index, data}` (the flow, its buffer transferred) or `{type: "error",
 * index, message}`.
 *
 * @module
 */
import type { SampleRecord } from "./types.ts";
import { createFaceApiDetector, type FaceDetector } from "./align/face.ts";
import { computeFlowSample, type ResolvedPreprocess } from "./pipeline.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
let opts: ResolvedPreprocess | undefined;
let detector: Promise<FaceDetector> | undefined;

scope.onmessage = async (ev: MessageEvent) => {
  const m = ev.data;
  if (m.type === "init") {
    opts = m.options;
    return;
  }
  const job = m.job as { index: number; record: SampleRecord };
  try {
    if (!opts) throw new Error("worker not initialised");
    if (opts.align) {
      detector ??= createFaceApiDetector({
        minConfidence: opts.minConfidence,
      });
    }
    const s = await computeFlowSample(
      job.record,
      opts,
      opts.align ? await detector : undefined,
    );
    scope.postMessage({ type: "done", index: job.index, data: s.data }, [
      s.data.buffer,
    ]);
  } catch (e) {
    scope.postMessage({
      type: "error",
      index: job.index,
      message: e instanceof Error ? e.message : String(e),
    });
  }
};
