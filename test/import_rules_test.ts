/**
 * The import rules of ARCHITECTURE.md, checked on the module graph Deno
 * itself resolves (`deno info --json`, static and literal dynamic imports,
 * value and type imports): the libraries depend one way only (`rng/` on
 * nothing, `model/` and `data/` on `rng/` alone, `train/` on those, `dsl/` on
 * all of them) and no module imports itself through others.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The project folders whose files may import from which other folders. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  rng: [],
  model: ["rng"],
  data: ["rng"],
  train: ["rng", "model", "data"],
  dsl: ["rng", "model", "data", "train"],
};

/** Every `.ts` file under `dir` (relative to the root), sorted. */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(rel));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
  }
  return out.sort();
}

/** File → the project files it imports (value or type, static or literal dynamic). */
async function projectGraph(files: string[]): Promise<Map<string, string[]>> {
  const tmp = await Deno.makeTempDir({ prefix: "merba_imports_" });
  try {
    const entry = join(tmp, "entry.ts");
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import "${pathToFileURL(join(ROOT, f)).href}";\n`)
        .join(""),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: {
        specifier: string;
        dependencies?: {
          code?: { specifier?: string };
          type?: { specifier?: string };
        }[];
      }[];
    };
    const local = (url: string | undefined): string | undefined => {
      if (!url?.startsWith("file://")) return undefined;
      const rel = relative(ROOT, fileURLToPath(url));
      return rel.startsWith("..") ? undefined : rel;
    };
    const graph = new Map<string, string[]>();
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (from === undefined) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const t = local(s);
          if (t !== undefined) to.add(t);
        }
      }
      graph.set(from, [...to].sort());
    }
    return graph;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const files = (await Promise.all(Object.keys(MAY_IMPORT).map(tsFiles))).flat();
const graph = await projectGraph(files);

Deno.test("the libraries import one way: rng/ nothing of ours, model/ and data/ only rng/, train/ only those, dsl/ only the four", () => {
  const broken: string[] = [];
  for (const [from, tos] of graph) {
    const lib = from.split("/")[0];
    const allowed = MAY_IMPORT[lib];
    if (allowed === undefined) continue;
    for (const to of tos) {
      const target = to.split("/")[0];
      if (target !== lib && !allowed.includes(target)) {
        broken.push(`${from} imports ${to}`);
      }
    }
  }
  assert.deepEqual(broken, [], broken.join("\n"));
});

Deno.test("no module of rng/, model/, data/, train/ or dsl/ imports itself through others (no cycles)", () => {
  assert.ok(graph.size >= files.length, `${graph.size} < ${files.length}`);
  const found = cycles(graph).map((c) => c.join(" ↔ "));
  assert.deepEqual(found, [], found.join("\n"));
});

Deno.test("the cycle finder finds a cycle and the rule check sees a forbidden import", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(cycles(g), [["a", "b", "c"]]);
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", []]])), []);
  assert.ok(!MAY_IMPORT.model.includes("data"));
  assert.ok(!MAY_IMPORT.data.includes("model"));
  assert.ok(!MAY_IMPORT.train.includes("dsl"));
  assert.deepEqual(MAY_IMPORT.rng, []);
});
