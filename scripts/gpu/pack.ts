/**
 * `deno task gpu:pack`: packs one experiment run into a self-contained
 * archive for an offline Linux x86_64 machine (e.g. one with an NVIDIA GPU
 * and no internet), small enough for a 64 MiB transfer.
 *
 * The archive is an uncompressed tar holding one folder, `merba-gpu/`:
 *
 * - `deno.xz`: the Deno binary running this script (`Deno.execPath()`),
 *   compressed (xz by default; the target needs only coreutils, tar and
 *   xz/gzip to unpack it). The compressed binary is cached under
 *   `.cache/gpu/` keyed by its SHA-256, so repacking is fast.
 * - `payload.tar.xz`: the project source files the run's module graph uses
 *   (`deno info --json` over the CLI, the spec, the other programs `run.sh`
 *   starts and the Worker entries), the spec, `deno.json` with its import map
 *   reduced to the npm packages shipped, `deno.lock`, and
 *   `node_modules/.deno` entries for exactly those packages and their
 *   dependency closure, pruned of source maps, type declarations, docs,
 *   tests, TypeScript sources and tfjs' browser bundles.
 * - `run.sh`: verifies checksums, unpacks once, points `DENO_DIR` into the
 *   folder, and runs `deno run --cached-only -A scripts/run.ts SPEC --preset P
 *   --backend B` (what `deno task run` runs) with `DENO_NO_UPDATE_CHECK=1`:
 *   nothing is fetched. `run.sh bench [flags]` runs the GPU benchmark
 *   (`scripts/bench/gpu_bench.ts`, shipped with its PyTorch twin) instead,
 *   `run.sh determinism` the bit-exactness probe (`determinism.ts`), `run.sh
 *   check` the GPU check (`check.ts`, see `scripts/gpu/check.sh`).
 * - `MANIFEST.json` (what is inside, sizes, versions) and `SHA256SUMS`.
 *
 * Deno, with `nodeModulesDir: "auto"`, sets up every npm package of the
 * import map, so the shipped `deno.json` names only the shipped packages;
 * an import of anything else fails with Deno's "not in import map" error
 * instead of a network fetch.
 *
 * Usage:
 * ```sh
 * deno task gpu:pack [--spec experiments/table7.ts] [--preset smoke]
 *   [--backend webgpu] [--out out/gpu/merba-gpu.tar] [--compress xz|gzip|zstd]
 *   [--level N] [--max-mib 64] [--deno PATH] [--include-package NAME]…
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  basename,
  dirname,
  isAbsolute,
  join,
  relative,
  resolve,
  sep as SEPARATOR,
} from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";

/** Compressors the target can be expected to have (coreutils + tar + these). */
export type Compressor = "xz" | "gzip" | "zstd";

/** Options of {@link packRun}. */
export interface PackOptions {
  /** project root (holds deno.json, deno.lock, node_modules). */
  root: string;
  /** the experiment spec (.ts inside the project, or .yaml anywhere). */
  spec: string;
  /** preset `run.sh` applies by default (e.g. `smoke`, `small`, `paper`). */
  preset: string;
  /** backend `run.sh` uses by default. */
  backend: string;
  /** output archive path (.tar). */
  out: string;
  /** compressor for the Deno binary and the payload (default xz). */
  compress?: Compressor;
  /** compression level (default: 9 for xz/gzip, 19 for zstd). */
  level?: number;
  /** size limit of the archive in MiB (default 64). */
  maxMiB?: number;
  /** the Deno binary to ship (default `Deno.execPath()`). */
  denoBinary?: string;
  /** npm packages (import-map keys) to ship besides those found in the graph. */
  includePackages?: string[];
  /** where the compressed Deno binary is cached (default `<root>/.cache/gpu`). */
  cacheDir?: string;
  /** progress lines (default: none). */
  log?: (line: string) => void;
}

/** One shipped npm package folder (`node_modules/.deno/<key>`). */
export interface PackedPackage {
  /** the `.deno` folder name, e.g. `valibot@1.5.0`. */
  key: string;
  /** files kept. */
  files: number;
  /** bytes kept (uncompressed). */
  bytes: number;
  /** files pruned. */
  prunedFiles: number;
  /** bytes pruned. */
  prunedBytes: number;
}

/** `MANIFEST.json` of an archive. */
export interface PackManifest {
  /** format tag. */
  format: "merba-gpu-pack/1";
  /** ISO time of packing. */
  created: string;
  /** spec path inside the project. */
  spec: string;
  /** default preset of run.sh. */
  preset: string;
  /** default backend of run.sh. */
  backend: string;
  /** command run.sh executes (inside `project/`), before extra arguments. */
  command: string[];
  /** the shipped Deno binary. */
  deno: {
    version: string;
    sha256: string;
    bytes: number;
    compressedBytes: number;
    file: string;
  };
  /** compressor used for deno and payload. */
  compress: Compressor;
  /** compression level. */
  level: number;
  /** import-map entries kept in the shipped deno.json. */
  imports: Record<string, string>;
  /** the npm packages shipped. */
  packages: PackedPackage[];
  /** project files shipped (relative to the project root). */
  sources: string[];
  /** payload sizes. */
  payload: { file: string; bytes: number; compressedBytes: number };
  /** size of the whole archive and its limit, in bytes. */
  archive: { bytes: number; limitBytes: number };
}

/** What {@link packRun} produced. */
export interface PackResult {
  /** path of the archive. */
  archive: string;
  /** its manifest. */
  manifest: PackManifest;
}

/**
 * Roots of the shipped module graph, when present: the programs `run.sh`
 * starts, and the Worker entry modules. A module graph follows imports
 * (literal dynamic ones too) but not `new Worker(url)`, so the workers'
 * entries are listed here.
 */
export const ENTRY_ROOTS: readonly string[] = [
  "scripts/run.ts",
  "dsl/worker_main.ts",
  "data/pipeline_worker.ts",
  "scripts/bench/gpu_bench.ts",
  "scripts/gpu/determinism.ts",
  "scripts/gpu/check.ts",
  "scripts/gpu/stage.ts",
];

/**
 * Non-module files shipped when present: the PyTorch twin of the GPU
 * benchmark and the model it imports (`run.sh bench` runs them when the
 * target has a Python with torch).
 */
export const EXTRA_FILES: readonly string[] = [
  "scripts/bench/gpu_torch.py",
  "model/testdata/gen_fixtures.py",
];

const TFJS_SCOPE = "@tensorflow";
/** Top-level package folders pruned (never deeper: e.g. yaml's dist/doc is code). */
const PRUNE_DIRS = new Set([
  "test",
  "tests",
  "__tests__",
  "docs",
  "example",
  "examples",
  "benchmark",
  "benchmarks",
  ".github",
  "coverage",
  "demo",
]);

/**
 * Packages whose runtime needs only a few of their files (browser bundles,
 * unused model weights): the kept paths, relative to the package folder.
 * Everything else in them is pruned. Generic rules of {@link keepNpmFile}
 * apply on top.
 */
export const PACKAGE_KEEP: Readonly<
  Record<string, (path: string) => boolean>
> = {
  // data/align/face.ts loads the node-wasm build and these two networks
  "@vladmandic/face-api": (p) =>
    p === "package.json" || p === "LICENSE" ||
    p === "dist/face-api.node-wasm.js" ||
    /^model\/(ssd_mobilenetv1|face_landmark_68)_model/.test(p),
  // main is excel.js → lib/; dist/ holds browser bundles
  "exceljs": (p) => !p.startsWith("dist/"),
};

/**
 * Whether a file of an npm package is kept. `path` is relative to the
 * package folder, `/`-separated. Dropped everywhere: source maps, type
 * declarations, TypeScript sources, markdown, HTML reports, build info, and
 * top-level test/docs/example/demo folders. In `@tensorflow/*` packages only `package.json`,
 * the CommonJS bundles Deno loads (`dist/*.node.js`, their `main`), the
 * wasm backend's binaries (`dist/*.wasm`, `wasm-out/`) except the threaded
 * build that cannot run under Deno, are kept. {@link PACKAGE_KEEP} narrows a few more.
 */
export function keepNpmFile(packageName: string, path: string): boolean {
  const parts = path.split("/");
  const name = parts[parts.length - 1];
  if (parts.length > 1 && PRUNE_DIRS.has(parts[0])) return false;
  if (
    /\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo|md|markdown|html)$/i.test(name) ||
    (/\.(ts|mts|cts|tsx)$/.test(name))
  ) {
    return false;
  }
  const keep = PACKAGE_KEEP[packageName];
  if (keep && !keep(path)) return false;
  if (packageName.startsWith(TFJS_SCOPE + "/")) {
    if (path === "package.json") return true;
    if (parts[0] === "dist") {
      return parts.length === 2 &&
        (/\.node\.js$/.test(name) ||
          (/\.wasm$/.test(name) && !/threaded/.test(name)));
    }
    if (parts[0] === "wasm-out") return !/threaded/.test(name);
    return false;
  }
  return true;
}

/** Runs a command; throws with its stderr when it fails. */
async function exec(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  let out;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(`gpu:pack: cannot run ${cmd}: ${(e as Error).message}`);
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(
      `gpu:pack: ${cmd} ${
        args.slice(0, 3).join(" ")
      }… failed (exit ${out.code}): ${err.split("\n").slice(-5).join("\n")}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The local files and npm package requests of a module graph. */
export interface ModuleGraph {
  /** project files (relative to root, `/`-separated), sorted. */
  files: string[];
  /** npm package names requested (e.g. `@tensorflow/tfjs`), sorted. */
  npm: string[];
}

/**
 * The module graph of `roots` (project-relative `.ts` files) as `deno info
 * --json` reports it, resolved with the project's `deno.json`.
 */
export async function moduleGraph(
  root: string,
  roots: string[],
): Promise<ModuleGraph> {
  const tmp = await Deno.makeTempDir({ prefix: "merba_pack_" });
  try {
    const entry = join(tmp, "entry.ts");
    await Deno.writeTextFile(
      entry,
      roots.map((r) =>
        `import ${JSON.stringify(pathToFileURL(join(root, r)).href)};`
      ).join("\n") + "\n",
    );
    const json = await exec(Deno.execPath(), [
      "info",
      "--json",
      "--config",
      join(root, "deno.json"),
      entry,
    ], { cwd: root, env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
    const info = JSON.parse(json) as {
      modules: { specifier: string; error?: string }[];
    };
    const files = new Set<string>();
    const npm = new Set<string>();
    for (const m of info.modules) {
      if (m.error) {
        throw new Error(
          `gpu:pack: module ${m.specifier} does not resolve: ${m.error}`,
        );
      }
      if (m.specifier.startsWith("file:")) {
        const p = fromFileUrl(m.specifier);
        if (p === entry) continue;
        const rel = relative(root, p);
        if (rel.startsWith("..") || isAbsolute(rel)) {
          throw new Error(
            `gpu:pack: module ${p} is outside the project root ${root}`,
          );
        }
        files.add(rel.split(SEPARATOR).join("/"));
      } else if (m.specifier.startsWith("npm:")) {
        const s = m.specifier.replace(/^npm:\/?/, "");
        const at = s.indexOf("@", s.startsWith("@") ? 1 : 0);
        npm.add(at < 0 ? s.split("/")[0] : s.slice(0, at));
      }
    }
    return { files: [...files].sort(), npm: [...npm].sort() };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Lists a `node_modules` folder: package names (scoped ones as `@s/n`). */
async function listNodeModules(dir: string): Promise<string[]> {
  const out: string[] = [];
  if (!(await exists(dir))) return out;
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".")) continue;
    if (e.name.startsWith("@") && e.isDirectory) {
      for await (const s of Deno.readDir(join(dir, e.name))) {
        out.push(`${e.name}/${s.name}`);
      }
    } else out.push(e.name);
  }
  return out.sort();
}

/** `.deno` key of a symlink target such as `../../x@1.0.0/node_modules/x`. */
function keyOfLink(nodeModules: string, linkPath: string, target: string) {
  const abs = resolve(dirname(linkPath), target);
  const rel = relative(join(nodeModules, ".deno"), abs).split(SEPARATOR);
  if (rel[0] === ".." || rel.length < 3 || rel[1] !== "node_modules") {
    throw new Error(
      `gpu:pack: ${linkPath} points outside node_modules/.deno (${target})`,
    );
  }
  return rel[0];
}

/**
 * The `node_modules/.deno` keys holding `packages` (top-level names) and
 * everything they depend on, following the dependency symlinks Deno lays out
 * in each `.deno/<key>/node_modules`. Optional platform packages that were
 * installed (e.g. sharp's linux-x64 binaries) are included unless `skip`
 * says otherwise.
 *
 * @returns the keys (sorted) and each top-level package's key.
 */
export async function npmClosure(
  root: string,
  packages: string[],
  skip: (key: string) => boolean = () => false,
): Promise<{ keys: string[]; top: Record<string, string> }> {
  const nm = join(root, "node_modules");
  const top: Record<string, string> = {};
  const todo: string[] = [];
  for (const name of packages) {
    const link = join(nm, name);
    let target;
    try {
      target = await Deno.readLink(link);
    } catch {
      throw new Error(
        `gpu:pack: npm package "${name}" is not installed at ${link} (run the spec once, or \`deno install\`, to install it)`,
      );
    }
    top[name] = keyOfLink(nm, link, target);
    todo.push(top[name]);
  }
  const keys = new Set<string>();
  while (todo.length) {
    const key = todo.pop()!;
    if (keys.has(key)) continue;
    keys.add(key);
    const inner = join(nm, ".deno", key, "node_modules");
    if (!(await exists(inner))) {
      throw new Error(`gpu:pack: ${inner} is missing (broken node_modules?)`);
    }
    for (const dep of await listNodeModules(inner)) {
      const p = join(inner, dep);
      const st = await Deno.lstat(p);
      if (st.isSymlink) {
        const t = await Deno.readLink(p);
        const k = keyOfLink(nm, p, t);
        if (!skip(k) && await exists(join(nm, ".deno", k))) todo.push(k);
      }
    }
  }
  return { keys: [...keys].sort(), top };
}

/** Copies a `.deno/<key>` folder into `dest`, pruning package files. */
async function copyPackage(
  src: string,
  dest: string,
  key: string,
): Promise<PackedPackage> {
  const stats: PackedPackage = {
    key,
    files: 0,
    bytes: 0,
    prunedFiles: 0,
    prunedBytes: 0,
  };
  await Deno.mkdir(dest, { recursive: true });
  const marker = join(src, ".initialized");
  if (await exists(marker)) {
    await Deno.copyFile(marker, join(dest, ".initialized"));
  }
  const inner = join(src, "node_modules");
  for (const name of await listNodeModules(inner)) {
    const p = join(inner, name);
    const d = join(dest, "node_modules", name);
    await Deno.mkdir(dirname(d), { recursive: true });
    const st = await Deno.lstat(p);
    if (st.isSymlink) {
      // a dependency link: kept when its target package is shipped (checked by the caller)
      await Deno.symlink(await Deno.readLink(p), d);
      continue;
    }
    await copyTree(p, d, name, "", stats, await binFiles(p));
  }
  return stats;
}

/** Files a package's `bin` field names (Deno links them when setting up). */
async function binFiles(pkgDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    const pj = JSON.parse(
      await Deno.readTextFile(join(pkgDir, "package.json")),
    );
    const bin = typeof pj.bin === "string"
      ? [pj.bin]
      : Object.values(pj.bin ?? {});
    for (const b of bin) {
      if (typeof b === "string") out.add(b.replace(/^\.\//, ""));
    }
  } catch {
    // no or unreadable package.json: nothing forced
  }
  return out;
}

async function copyTree(
  src: string,
  dest: string,
  pkg: string,
  rel: string,
  stats: PackedPackage,
  force: Set<string>,
): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    const s = join(src, e.name);
    const d = join(dest, e.name);
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isSymlink) {
      await Deno.symlink(await Deno.readLink(s), d);
    } else if (e.isDirectory) {
      await copyTree(s, d, pkg, r, stats, force);
    } else if (e.isFile) {
      const size = (await Deno.stat(s)).size;
      if (force.has(r) || keepNpmFile(pkg, r)) {
        await Deno.copyFile(s, d);
        stats.files++;
        stats.bytes += size;
      } else {
        stats.prunedFiles++;
        stats.prunedBytes += size;
      }
    }
  }
}

async function sha256File(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const h = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

const EXT: Record<Compressor, string> = { xz: "xz", gzip: "gz", zstd: "zst" };

function compressArgs(c: Compressor, level: number): [string, string[]] {
  switch (c) {
    case "xz":
      return ["xz", [`-${level}`, "-T1", "-c"]];
    case "gzip":
      return ["gzip", [`-${level}`, "-n", "-c"]];
    case "zstd":
      return ["zstd", [`-${level}`, "-q", "-c", "--long=27"]];
  }
}

/** Compresses `src` into `dest` with an external compressor. */
async function compressFile(
  c: Compressor,
  level: number,
  src: string,
  dest: string,
): Promise<void> {
  const [cmd, args] = compressArgs(c, level);
  const file = await Deno.open(dest, {
    write: true,
    create: true,
    truncate: true,
  });
  let child;
  try {
    child = new Deno.Command(cmd, {
      args: [...args, src],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    file.close();
    throw new Error(`gpu:pack: cannot run ${cmd}: ${(e as Error).message}`);
  }
  const [status, , err] = await Promise.all([
    child.status,
    child.stdout.pipeTo(file.writable),
    new Response(child.stderr).text(),
  ]);
  if (!status.success) {
    throw new Error(`gpu:pack: ${cmd} ${src} failed: ${err.trim()}`);
  }
}

/** The shell script that unpacks and runs the archive on the target. */
export function runScript(m: {
  spec: string;
  preset: string;
  backend: string;
  compress: Compressor;
  denoFile: string;
  payloadFile: string;
}): string {
  const dc = m.compress === "xz"
    ? "xz -dc"
    : m.compress === "gzip"
    ? "gzip -dc"
    : "zstd -dc";
  const tool = dc.split(" ")[0];
  return `#!/bin/sh
# merba offline run (generated by scripts/gpu/pack.ts). Usage:
#   ./run.sh [--preset P] [--backend B] [more flags of \`deno task run\`]
#   ./run.sh bench [flags of \`deno task bench:gpu\`]
#   ./run.sh determinism [--reps N]   (bit-exactness probe, docs/gpu.md)
#   ./run.sh check --out DIR [flags]  (the GPU check, scripts/gpu/check.ts)
# Defaults: --preset ${m.preset} --backend ${m.backend}. Nothing is downloaded:
# Deno runs with --cached-only from the bundled node_modules. Commands run
# inside project/, so give --out, --data and --json as absolute paths
# (the default run store is project/runs).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC=${shq(m.spec)}
PRESET=${shq(m.preset)}
BACKEND=${shq(m.backend)}
MODE=run
case "\${1:-}" in
  bench|determinism|check) MODE="$1"; shift ;;
esac
while [ "$MODE" = run ] && [ $# -gt 0 ]; do
  case "$1" in
    --preset) PRESET="$2"; shift 2 ;;
    --preset=*) PRESET="\${1#--preset=}"; shift ;;
    --backend) BACKEND="$2"; shift 2 ;;
    --backend=*) BACKEND="\${1#--backend=}"; shift ;;
    *) break ;;
  esac
done
for t in ${tool} tar sha256sum; do
  command -v "$t" >/dev/null 2>&1 || { echo "run.sh: '$t' is needed to unpack (not found on PATH)" >&2; exit 1; }
done
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "run.sh: this archive's Deno is for Linux x86_64, not $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
if [ ! -f "$HERE/.verified" ]; then
  (cd "$HERE" && sha256sum -c --quiet SHA256SUMS) || { echo "run.sh: checksum mismatch: the archive is damaged" >&2; exit 1; }
  touch "$HERE/.verified"
fi
if [ ! -x "$HERE/bin/deno" ]; then
  mkdir -p "$HERE/bin"
  ${dc} "$HERE/${m.denoFile}" > "$HERE/bin/deno.part"
  chmod +x "$HERE/bin/deno.part"
  mv "$HERE/bin/deno.part" "$HERE/bin/deno"
fi
if [ ! -f "$HERE/project/.unpacked" ]; then
  rm -rf "$HERE/project"
  mkdir -p "$HERE/project"
  ${dc} "$HERE/${m.payloadFile}" | tar -xf - -C "$HERE/project"
  touch "$HERE/project/.unpacked"
fi
export DENO_DIR="$HERE/deno_dir"
export DENO_NO_UPDATE_CHECK=1
export DENO_NO_PROMPT=1
cd "$HERE/project"
if [ "$MODE" = bench ]; then
  echo "run.sh: deno $("$HERE/bin/deno" --version | head -n1 | cut -d' ' -f2), GPU benchmark (offline, --cached-only)" >&2
  exec "$HERE/bin/deno" run --cached-only -A scripts/bench/gpu_bench.ts "$@"
fi
if [ "$MODE" = determinism ]; then
  exec "$HERE/bin/deno" run --cached-only -A scripts/gpu/determinism.ts "$@"
fi
if [ "$MODE" = check ]; then
  exec "$HERE/bin/deno" run --cached-only -A scripts/gpu/check.ts "$@"
fi
echo "run.sh: deno $("$HERE/bin/deno" --version | head -n1 | cut -d' ' -f2), spec $SPEC, preset $PRESET, backend $BACKEND (offline, --cached-only)" >&2
exec "$HERE/bin/deno" run --cached-only -A scripts/run.ts "$SPEC" --preset "$PRESET" --backend "$BACKEND" "$@"
`;
}

/** Single-quotes a value for sh. */
function shq(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** Cached compressed Deno binary: returns its path, sha256 and sizes. */
async function compressedDeno(
  binary: string,
  c: Compressor,
  level: number,
  cacheDir: string,
  log: (s: string) => void,
) {
  const sha = await sha256File(binary);
  const bytes = (await Deno.stat(binary)).size;
  await Deno.mkdir(cacheDir, { recursive: true });
  const cached = join(
    cacheDir,
    `deno-${sha.slice(0, 16)}-${c}${level}.${EXT[c]}`,
  );
  if (!(await exists(cached))) {
    log(
      `compressing ${binary} (${
        mib(bytes)
      }) with ${c} -${level} (cached afterwards)…`,
    );
    const part = cached + ".part";
    await compressFile(c, level, binary, part);
    await Deno.rename(part, cached);
  }
  return {
    path: cached,
    sha,
    bytes,
    compressedBytes: (await Deno.stat(cached)).size,
  };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Reads the Deno version of a binary (`deno --version`'s first line). */
async function denoVersion(binary: string): Promise<string> {
  const out = await exec(binary, ["--version"]);
  const m = /^deno (\S+)/.exec(out);
  if (!m) throw new Error(`gpu:pack: ${binary} --version printed ${out}`);
  return m[1];
}

/** {@link PackOptions} checked, with defaults filled in. */
interface Checked {
  root: string;
  compress: Compressor;
  level: number;
  maxMiB: number;
  /** the spec file, absolute. */
  specAbs: string;
  /** where the spec lies in the shipped project. */
  specRel: string;
  /** the spec lies inside the project (its own path is kept). */
  specInside: boolean;
  /** the spec is a module (its imports join the graph). */
  isTs: boolean;
}

/** Checks the options, naming the flag of a bad one. */
async function checkOptions(options: PackOptions): Promise<Checked> {
  const root = resolve(options.root);
  const compress = options.compress ?? "xz";
  if (!(compress in EXT)) {
    throw new Error(
      `gpu:pack: --compress must be xz, gzip or zstd, got "${compress}"`,
    );
  }
  const level = options.level ?? (compress === "zstd" ? 19 : 9);
  const maxLevel = compress === "zstd" ? 19 : 9;
  if (!Number.isInteger(level) || level < 1 || level > maxLevel) {
    throw new Error(
      `gpu:pack: --level must be an integer in 1..${maxLevel} for ${compress}, got ${level}`,
    );
  }
  const maxMiB = options.maxMiB ?? 64;
  if (!(maxMiB > 0)) {
    throw new Error(`gpu:pack: --max-mib must be positive, got ${maxMiB}`);
  }
  for (
    const [field, v] of [["preset", options.preset], [
      "backend",
      options.backend,
    ]]
  ) {
    if (!v || /[\s'"]/.test(v)) {
      throw new Error(`gpu:pack: --${field} must be a plain name, got "${v}"`);
    }
  }
  if (!(await exists(join(root, "deno.json")))) {
    throw new Error(`gpu:pack: ${root} has no deno.json (--root)`);
  }
  const specAbs = resolve(options.spec);
  if (!(await exists(specAbs))) {
    throw new Error(`gpu:pack: spec file ${specAbs} does not exist (--spec)`);
  }
  let specRel = relative(root, specAbs).split(SEPARATOR).join("/");
  const specInside = !specRel.startsWith("..") && !isAbsolute(specRel);
  const isTs = /\.(ts|mts|js|mjs)$/.test(specAbs);
  if (!specInside) {
    if (isTs) {
      throw new Error(
        `gpu:pack: a .ts spec must lie inside the project (${root}) so its imports resolve; got ${specAbs} (--spec)`,
      );
    }
    specRel = `specs/${basename(specAbs)}`;
  }
  return {
    root,
    compress,
    level,
    maxMiB,
    specAbs,
    specRel,
    specInside,
    isTs,
  };
}

/**
 * The import map entries of the npm packages shipped: those the graph
 * requests and those asked for (`--include-package`).
 */
function shippedImports(
  importMap: Record<string, string>,
  graph: ModuleGraph,
  include: readonly string[],
): Record<string, string> {
  const wanted = new Set([...graph.npm, ...include]);
  const imports: Record<string, string> = {};
  for (const [k, v] of Object.entries(importMap)) {
    const m = /^npm:(@?[^@]+)@/.exec(v);
    if (m && (wanted.has(m[1]) || wanted.has(k))) imports[k] = v;
  }
  for (const name of include) {
    if (!(name in importMap)) {
      throw new Error(
        `gpu:pack: --include-package ${name} is not in deno.json's imports`,
      );
    }
  }
  return imports;
}

/**
 * Copies the project's sources (the graph's files, `deno.lock`, the
 * {@link EXTRA_FILES}, the spec) and writes the reduced `deno.json` into
 * `proj`; returns the shipped paths.
 */
async function stageSources(
  proj: string,
  c: Checked,
  graph: ModuleGraph,
  shippedConfig: Record<string, unknown>,
): Promise<Set<string>> {
  const root = c.root;
  const sources = new Set(graph.files);
  for (const f of ["deno.lock", ...EXTRA_FILES]) {
    if (await exists(join(root, f))) sources.add(f);
  }
  for (const f of sources) {
    await Deno.mkdir(dirname(join(proj, f)), { recursive: true });
    await Deno.copyFile(join(root, f), join(proj, f));
  }
  if (!c.isTs || !c.specInside) {
    await Deno.mkdir(dirname(join(proj, c.specRel)), { recursive: true });
    await Deno.copyFile(c.specAbs, join(proj, c.specRel));
    sources.add(c.specRel);
  }
  await Deno.writeTextFile(
    join(proj, "deno.json"),
    JSON.stringify(shippedConfig, null, 2) + "\n",
  );
  sources.add("deno.json");
  return sources;
}

/**
 * Copies the npm closure's `node_modules/.deno` entries (pruned) to
 * `nmDest`, drops links to packages not shipped and links the top-level
 * names; returns what each package kept.
 */
async function stageNodeModules(
  root: string,
  nmDest: string,
  closure: { keys: string[]; top: Record<string, string> },
): Promise<PackedPackage[]> {
  const nmSrc = join(root, "node_modules");
  const packages: PackedPackage[] = [];
  const keySet = new Set(closure.keys);
  for (const key of closure.keys) {
    packages.push(
      await copyPackage(
        join(nmSrc, ".deno", key),
        join(nmDest, ".deno", key),
        key,
      ),
    );
  }
  // drop dependency links to packages not shipped (uninstalled optional platforms)
  for (const key of closure.keys) {
    const inner = join(nmDest, ".deno", key, "node_modules");
    for (const dep of await listNodeModules(inner)) {
      const p = join(inner, dep);
      const st = await Deno.lstat(p);
      if (!st.isSymlink) continue;
      const k = keyOfLink(nmDest, p, await Deno.readLink(p));
      if (!keySet.has(k)) await Deno.remove(p);
    }
  }
  for (const [name, key] of Object.entries(closure.top)) {
    const link = join(nmDest, name);
    await Deno.mkdir(dirname(link), { recursive: true });
    const target = relative(
      dirname(link),
      join(nmDest, ".deno", key, "node_modules", name),
    );
    await Deno.symlink(target, link);
  }
  return packages;
}

/** A reproducible tar of `dir`'s `member` (sorted, zero times and owners). */
function tarArgs(archive: string, dir: string, member: string): string[] {
  return [
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-cf",
    archive,
    "-C",
    dir,
    member,
  ];
}

/**
 * Writes `SHA256SUMS` and `MANIFEST.json` into `out` and tars `out` to
 * `archive`, with the archive's own size recorded in the manifest.
 */
async function writeArchive(
  out: string,
  archive: string,
  manifest: PackManifest,
): Promise<number> {
  const sums = [];
  for (const f of [manifest.deno.file, manifest.payload.file, "run.sh"]) {
    sums.push(`${await sha256File(join(out, f))}  ${f}`);
  }
  await Deno.writeTextFile(join(out, "SHA256SUMS"), sums.join("\n") + "\n");
  const writeManifest = () =>
    Deno.writeTextFile(
      join(out, "MANIFEST.json"),
      JSON.stringify(manifest, null, 2) + "\n",
    );
  await writeManifest();
  await Deno.mkdir(dirname(archive), { recursive: true });
  const args = tarArgs(archive, dirname(out), basename(out));
  await exec("tar", args);
  // record the archive size in the manifest (tar pads to 10 KiB records, so
  // rewriting a few digits does not change the size; checked below)
  manifest.archive.bytes = (await Deno.stat(archive)).size;
  await writeManifest();
  await exec("tar", args);
  const size = (await Deno.stat(archive)).size;
  if (size !== manifest.archive.bytes) {
    manifest.archive.bytes = size;
    await writeManifest();
    await exec("tar", args);
  }
  return size;
}

/**
 * Builds the archive described in the module docs. Throws, naming the
 * field, on a bad option; throws (and removes the archive) when it is over
 * the size limit.
 */
export async function packRun(options: PackOptions): Promise<PackResult> {
  const log = options.log ?? (() => {});
  const c = await checkOptions(options);
  const { root, compress, level, maxMiB, specRel } = c;
  const denoBinary = options.denoBinary ?? Deno.execPath();
  const cacheDir = options.cacheDir ?? join(root, ".cache", "gpu");

  // 1. module graph and npm closure
  const roots = [];
  for (const r of ENTRY_ROOTS) if (await exists(join(root, r))) roots.push(r);
  if (c.isTs && c.specInside) roots.push(specRel);
  log(`module graph of ${roots.length} roots…`);
  const graph = await moduleGraph(root, roots);
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  const imports = shippedImports(
    config.imports ?? {},
    graph,
    options.includePackages ?? [],
  );
  const topNames = Object.values(imports).map((v) =>
    /^npm:(@?[^@]+)@/.exec(v)![1]
  );
  // Deno sets up every installed optional platform package (e.g. both the
  // glibc and musl builds of sharp's libvips) before running, so all of them
  // ship: dropping one makes --cached-only fail.
  const closure = await npmClosure(root, topNames);
  log(
    `${graph.files.length} source files, ${topNames.length} npm packages → ${closure.keys.length} with dependencies`,
  );

  // 2. staging tree
  const stage = await Deno.makeTempDir({ prefix: "merba_pack_stage_" });
  try {
    const proj = join(stage, "project");
    await Deno.mkdir(proj);
    const sources = await stageSources(proj, c, graph, { ...config, imports });
    const packages = await stageNodeModules(
      root,
      join(proj, "node_modules"),
      closure,
    );

    // 3. payload and deno binary
    const ext = EXT[compress];
    const payloadFile = `payload.tar.${ext}`;
    const out = join(stage, "merba-gpu");
    await Deno.mkdir(out);
    const tarPath = join(stage, "payload.tar");
    await exec("tar", tarArgs(tarPath, proj, "."));
    const payloadBytes = (await Deno.stat(tarPath)).size;
    log(
      `payload ${
        mib(payloadBytes)
      } uncompressed; compressing with ${compress} -${level}…`,
    );
    await compressFile(compress, level, tarPath, join(out, payloadFile));
    const denoC = await compressedDeno(
      denoBinary,
      compress,
      level,
      cacheDir,
      log,
    );
    const denoFile = `deno.${ext}`;
    await Deno.copyFile(denoC.path, join(out, denoFile));
    const version = await denoVersion(denoBinary).catch(() => "unknown");

    const command = [
      "deno",
      "run",
      "--cached-only",
      "-A",
      "scripts/run.ts",
      specRel,
      "--preset",
      options.preset,
      "--backend",
      options.backend,
    ];
    await Deno.writeTextFile(
      join(out, "run.sh"),
      runScript({
        spec: specRel,
        preset: options.preset,
        backend: options.backend,
        compress,
        denoFile,
        payloadFile,
      }),
      { mode: 0o755 },
    );
    await Deno.chmod(join(out, "run.sh"), 0o755);
    const limitBytes = Math.floor(maxMiB * 2 ** 20);
    const manifest: PackManifest = {
      format: "merba-gpu-pack/1",
      created: new Date().toISOString(),
      spec: specRel,
      preset: options.preset,
      backend: options.backend,
      command,
      deno: {
        version,
        sha256: denoC.sha,
        bytes: denoC.bytes,
        compressedBytes: denoC.compressedBytes,
        file: denoFile,
      },
      compress,
      level,
      imports,
      packages,
      sources: [...sources].sort(),
      payload: {
        file: payloadFile,
        bytes: payloadBytes,
        compressedBytes: (await Deno.stat(join(out, payloadFile))).size,
      },
      archive: { bytes: 0, limitBytes },
    };
    const archive = resolve(options.out);
    const size = await writeArchive(out, archive, manifest);
    if (size > limitBytes) {
      await Deno.remove(archive);
      throw new Error(
        `gpu:pack: the archive would be ${
          mib(size)
        } (${size} bytes), over the ${maxMiB} MiB limit (--max-mib): deno ${
          mib(denoC.compressedBytes)
        }, payload ${
          mib(manifest.payload.compressedBytes)
        }; removed ${archive}. Try --compress xz --level 9, or ship fewer packages`,
      );
    }
    return { archive, manifest };
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

const USAGE = `usage: deno task gpu:pack [options]
  --spec FILE             experiment spec (default experiments/table7.ts)
  --preset NAME           preset run.sh applies (default smoke)
  --backend NAME          backend run.sh uses (default webgpu)
  --out FILE              archive path (default out/gpu/merba-gpu.tar)
  --compress xz|gzip|zstd compressor (default xz; the target needs it)
  --level N               compression level (default 9; zstd 19)
  --max-mib N             size limit in MiB (default 64)
  --deno PATH             Deno binary to ship (default: this one)
  --include-package NAME  ship this import-map package too (repeatable)
  --root DIR              project root (default: this checkout)`;

/** CLI entry: returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        spec: { type: "string", default: "experiments/table7.ts" },
        preset: { type: "string", default: "smoke" },
        backend: { type: "string", default: "webgpu" },
        out: { type: "string", default: "out/gpu/merba-gpu.tar" },
        compress: { type: "string", default: "xz" },
        level: { type: "string" },
        "max-mib": { type: "string", default: "64" },
        deno: { type: "string" },
        "include-package": { type: "string", multiple: true },
        root: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      throw new Error(`gpu:pack: --${flag} must be a number, got "${v}"`);
    }
    return n;
  };
  const root = values.root ??
    resolve(dirname(fromFileUrl(import.meta.url)), "..", "..");
  const t0 = performance.now();
  try {
    const { archive, manifest } = await packRun({
      root,
      spec: resolve(values.spec),
      preset: values.preset,
      backend: values.backend,
      out: values.out,
      compress: values.compress as Compressor,
      level: num("level", values.level),
      maxMiB: num("max-mib", values["max-mib"]),
      denoBinary: values.deno,
      includePackages: values["include-package"],
      log: (s) => console.error(s),
    });
    const kept = manifest.packages.reduce((a, p) => a + p.bytes, 0);
    const pruned = manifest.packages.reduce((a, p) => a + p.prunedBytes, 0);
    console.log(
      `${archive}: ${
        mib(manifest.archive.bytes)
      } (${manifest.archive.bytes} bytes; limit ${
        mib(manifest.archive.limitBytes)
      }) in ${((performance.now() - t0) / 1000).toFixed(1)} s
  deno ${manifest.deno.version}: ${mib(manifest.deno.bytes)} → ${
        mib(manifest.deno.compressedBytes)
      } (${manifest.compress} -${manifest.level})
  payload: ${manifest.sources.length} project files, ${manifest.packages.length} npm package folders (${
        mib(kept)
      } kept, ${mib(pruned)} pruned) → ${mib(manifest.payload.bytes)} tar → ${
        mib(manifest.payload.compressedBytes)
      }
  on the target: tar -xf ${basename(archive)} && merba-gpu/run.sh   (runs ${
        manifest.command.slice(1).join(" ")
      })`,
    );
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
