import { assertEquals } from "./testdata/asserts.ts";

Deno.test("importing data/pipeline.ts inside a Worker leaves the Worker's message handler alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const entry = `${dir}/entry.ts`;
    const pipeline = new URL("./pipeline.ts", import.meta.url).href;
    await Deno.writeTextFile(
      entry,
      `// deno-lint-ignore-file
const scope = globalThis as any;
scope.onmessage = () => scope.postMessage("mine");
const before = scope.onmessage;
await import(${JSON.stringify(pipeline)});
scope.postMessage(scope.onmessage === before ? "kept" : "replaced");
`,
    );
    const w = new Worker(new URL(`file://${entry}`).href, { type: "module" });
    try {
      const replies: string[] = [];
      await new Promise<void>((resolve, reject) => {
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
        w.onmessage = (e: MessageEvent<string>) => {
          replies.push(e.data);
          if (replies.length === 1) w.postMessage("ping");
          else resolve();
        };
      });
      assertEquals(replies, ["kept", "mine"]);
    } finally {
      w.terminate();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
