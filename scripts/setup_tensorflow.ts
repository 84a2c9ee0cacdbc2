/**
 * `deno task setup:tensorflow [--gpu] [--libtensorflow DIR] [--force]
 * [--no-download] [--tf-version V]`: makes the `tensorflow` backend
 * loadable by putting libtensorflow and the native addon
 * (`lib/napi-v8/tfjs_binding.node`) of `@tensorflow/tfjs-node` (with
 * `--gpu`: `@tensorflow/tfjs-node-gpu`) in place. Deno does not run the
 * package's install script, which would do this.
 *
 * Where libtensorflow comes from, first that works:
 * 1. `--libtensorflow DIR`: a libtensorflow the user has, either the C
 *    library's layout (`DIR/lib/libtensorflow.so.2`, `DIR/include/`) or a
 *    TensorFlow wheel's package folder (`DIR/libtensorflow_cc.so.2` +
 *    `libtensorflow_framework.so.2`, `DIR/include/`); the addon is built
 *    against it.
 * 2. The package's own download (skipped with `--no-download`): the
 *    libtensorflow 2.9.1 archive and the prebuilt addon from the addresses
 *    the package's install script uses (honouring its
 *    `TFJS_NODE_BASE_URI` / `TFJS_NODE_CDN_STORAGE`); when only the archive
 *    downloads, the addon is built against it.
 * 3. CPU only: a TensorFlow CPU wheel fetched with
 *    `python3 -m pip download --no-deps tensorflow-cpu==V` (V pinned below:
 *    the kernel set is then the same on every machine), its
 *    `libtensorflow_cc.so.2`, `libtensorflow_framework.so.2` and C headers
 *    unpacked (and stripped when `strip` exists); the wheel is deleted.
 *
 * The addon is compiled from the package's own `binding/*.cc` with the C++
 * compiler (`$CXX`, else `g++`, `c++`, `clang++`) and the N-API headers of
 * the pinned `node-api-headers` package, with the defines and libraries of
 * the package's `binding.gyp` (`NAPI_VERSION=8`, `-ltensorflow…`) and an
 * rpath to the libtensorflow folder; node-gyp is not needed.
 *
 * Everything lands in `.cache/tensorflow/` (gitignored); the package gets
 * the addon file (and, for the prebuilt addon, a `deps` link). Running it
 * again does nothing when the backend already loads (`--force` redoes it).
 * It ends by loading the backend in a fresh process and running an op.
 * Each missing tool or input is one `error:` line and exit code 1.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath as fromFileUrl } from "node:url";
import process from "node:process";
import {
  tfjsNodeAddon,
  tfjsNodePackageDir,
} from "../model/backend/tensorflow.ts";

/** The TensorFlow CPU wheel version pip fetches by default. */
export const TF_WHEEL_VERSION = "2.21.0";

const ROOT = resolve(dirname(fromFileUrl(import.meta.url)), "..");
const CACHE = join(ROOT, ".cache", "tensorflow");

/** A failure of one setup step: printed as one `error:` line. */
export class SetupError extends Error {}

/** Parsed command line. */
export interface SetupOptions {
  /** set up `@tensorflow/tfjs-node-gpu`. */
  gpu: boolean;
  /** a libtensorflow folder to build against. */
  libtensorflow?: string;
  /** redo everything even when the backend loads. */
  force: boolean;
  /** skip the package's own download. */
  download: boolean;
  /** tensorflow-cpu wheel version for pip. */
  tfVersion: string;
}

/**
 * Parses the command line.
 *
 * @param args the arguments after the script name.
 * @returns the options.
 * @throws SetupError naming a bad flag or value.
 */
export function parseSetupArgs(args: string[]): SetupOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        gpu: { type: "boolean", default: false },
        libtensorflow: { type: "string" },
        force: { type: "boolean", default: false },
        "no-download": { type: "boolean", default: false },
        "tf-version": { type: "string", default: TF_WHEEL_VERSION },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new SetupError(
      `${
        (e as Error).message
      } (usage: deno task setup:tensorflow [--gpu] [--libtensorflow DIR] [--force] [--no-download] [--tf-version V])`,
    );
  }
  if (!/^\d+\.\d+(\.\d+)?$/.test(values["tf-version"]!)) {
    throw new SetupError(
      `--tf-version: expected a version like ${TF_WHEEL_VERSION}, got ${
        JSON.stringify(values["tf-version"])
      }`,
    );
  }
  return {
    gpu: values.gpu!,
    libtensorflow: values.libtensorflow,
    force: values.force!,
    download: !values["no-download"],
    tfVersion: values["tf-version"]!,
  };
}

/** A libtensorflow to link against. */
export interface Libtensorflow {
  /** folder of the shared libraries. */
  libDir: string;
  /** the library exporting the C API (libtensorflow.so.2 or libtensorflow_cc.so.2). */
  lib: string;
  /** libtensorflow_framework.so.2 when present beside it. */
  framework: string | null;
  /** the folder holding `tensorflow/c/c_api.h`. */
  includeDir: string;
}

const C_API_LIBS = [
  "libtensorflow.so.2",
  "libtensorflow_cc.so.2",
  "libtensorflow.so",
];

/**
 * Finds the libraries and C headers in a libtensorflow folder (see the
 * module docs for the two layouts).
 *
 * @param dir the folder.
 * @param what how to name it in an error (e.g. `--libtensorflow DIR`).
 * @returns where the parts are.
 * @throws SetupError naming what is missing.
 */
export function findLibtensorflow(dir: string, what: string): Libtensorflow {
  if (!existsSync(dir)) throw new SetupError(`${what}: ${dir} does not exist`);
  for (const libDir of [join(dir, "lib"), dir]) {
    const lib = C_API_LIBS.find((l) => existsSync(join(libDir, l)));
    if (!lib) continue;
    const includeDir = join(dir, "include");
    if (!existsSync(join(includeDir, "tensorflow", "c", "c_api.h"))) {
      throw new SetupError(
        `${what}: ${dir} has ${lib} but no include/tensorflow/c/c_api.h (the C headers are needed to build the addon)`,
      );
    }
    const fw = join(libDir, "libtensorflow_framework.so.2");
    return {
      libDir: resolve(libDir),
      lib,
      framework: existsSync(fw) ? "libtensorflow_framework.so.2" : null,
      includeDir: resolve(includeDir),
    };
  }
  throw new SetupError(
    `${what}: no ${C_API_LIBS.join(", ")} in ${dir} or ${
      join(dir, "lib")
    } (expected libtensorflow's C library or a TensorFlow wheel's tensorflow/ folder)`,
  );
}

/**
 * The first of `names` found on PATH (or given as a path).
 *
 * @param names program names, in order of preference.
 * @param path the PATH to search (default: the environment's).
 * @returns its path, or null.
 */
export function findTool(
  names: string[],
  path = Deno.env.get("PATH") ?? "",
): string | null {
  for (const name of names) {
    if (name.includes("/")) {
      if (existsSync(name)) return name;
      continue;
    }
    for (const dir of path.split(":")) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}

/** Runs a command; returns its output or throws one line naming it. */
async function run(
  cmd: string,
  args: string[],
  what: string,
  options: { cwd?: string } = {},
): Promise<string> {
  let out;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new SetupError(
      `${what}: could not run ${cmd}: ${(e as Error).message}`,
    );
  }
  const dec = new TextDecoder();
  if (!out.success) {
    const text = (dec.decode(out.stderr) + dec.decode(out.stdout)).trim();
    const last = text.split("\n").filter((l) => l.trim()).slice(-3).join(
      " | ",
    );
    throw new SetupError(`${what} failed (${cmd} exit ${out.code}): ${last}`);
  }
  return dec.decode(out.stdout);
}

/** The npm package directory of a tfjs-node package, resolved. */
function packageDir(pkg: string): string {
  const dir = tfjsNodePackageDir(pkg, ROOT);
  if (!existsSync(join(dir, "package.json"))) {
    throw new SetupError(
      `${pkg} is not installed in node_modules: run \`deno install\` first (deno.json pins it)`,
    );
  }
  return Deno.realPathSync(dir);
}

/**
 * The addresses the package's install script downloads from:
 * libtensorflow's archive and the prebuilt addon.
 *
 * @param pkgJson the package's package.json.
 * @param gpu GPU variant.
 * @param env environment (for `TFJS_NODE_BASE_URI` / `TFJS_NODE_CDN_STORAGE`).
 * @returns both URLs (Linux x86-64 only, as the package's).
 */
export function packageDownloadUrls(
  pkgJson: {
    version: string;
    binary: { host: string; remote_path: string };
  },
  gpu: boolean,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): { libtensorflow: string; addon: string } {
  const host = env("TFJS_NODE_CDN_STORAGE") ?? env("CDN_STORAGE") ??
    "https://storage.googleapis.com/";
  const base = env("TFJS_NODE_BASE_URI") ??
    `${host}tensorflow/libtensorflow/libtensorflow-`;
  const type = gpu ? "gpu" : "cpu";
  const remote = pkgJson.binary.remote_path
    .replace("{napi_build_version}", "8")
    .replace("{version}", pkgJson.version)
    .replace(/^\.\//, "");
  return {
    libtensorflow: `${base}${type}-linux-x86_64-2.9.1.tar.gz`,
    addon: `${
      pkgJson.binary.host.replace(/\/?$/, "/")
    }${remote}${type.toUpperCase()}-linux-${pkgJson.version}.tar.gz`,
  };
}

/** Downloads `url` to `file`; throws a one-line error. */
async function download(url: string, file: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new SetupError(`download of ${url} failed: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new SetupError(`download of ${url} failed: HTTP ${res.status}`);
  }
  const part = file + ".part";
  const f = await Deno.open(part, {
    write: true,
    create: true,
    truncate: true,
  });
  await res.body.pipeTo(f.writable);
  await Deno.rename(part, file);
}

/** Unpacks a .tar.gz into `dir` with the system tar. */
async function untar(archive: string, dir: string): Promise<void> {
  const tar = findTool(["tar"]);
  if (!tar) throw new SetupError("tar not found: install it (Debian: tar)");
  await Deno.mkdir(dir, { recursive: true });
  await run(tar, ["-xzf", archive, "-C", dir], `unpacking ${archive}`);
}

/** All files below `dir` named `name`. */
function findFile(dir: string, name: string): string | null {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isFile && e.name === name) return p;
    if (e.isDirectory) {
      const f = findFile(p, name);
      if (f) return f;
    }
  }
  return null;
}

/**
 * The package's own download: libtensorflow 2.9.1 and the prebuilt addon.
 *
 * @returns the libtensorflow folder and the downloaded addon (null when
 *   only libtensorflow came).
 */
async function packageDownload(
  pkgDir: string,
  gpu: boolean,
): Promise<{ lib: Libtensorflow; addon: string | null }> {
  const pkgJson = JSON.parse(
    Deno.readTextFileSync(join(pkgDir, "package.json")),
  );
  const urls = packageDownloadUrls(pkgJson, gpu);
  const dir = join(CACHE, `libtensorflow-${gpu ? "gpu" : "cpu"}-2.9.1`);
  if (!existsSync(join(dir, "lib"))) {
    await Deno.mkdir(CACHE, { recursive: true });
    const archive = join(CACHE, basename(urls.libtensorflow));
    console.log(`downloading ${urls.libtensorflow}`);
    await download(urls.libtensorflow, archive);
    await untar(archive, dir + ".tmp");
    await Deno.rename(dir + ".tmp", dir);
    await Deno.remove(archive);
  }
  const lib = findLibtensorflow(dir, urls.libtensorflow);
  const addonDir = join(dir, "addon");
  let addon = existsSync(addonDir)
    ? findFile(addonDir, "tfjs_binding.node")
    : null;
  if (!addon) {
    try {
      const archive = join(CACHE, basename(urls.addon));
      console.log(`downloading ${urls.addon}`);
      await download(urls.addon, archive);
      await untar(archive, addonDir);
      await Deno.remove(archive);
      addon = findFile(addonDir, "tfjs_binding.node");
    } catch (e) {
      console.log(
        `the prebuilt addon did not download (${
          (e as Error).message
        }); building it`,
      );
    }
  }
  return { lib, addon };
}

/** A TensorFlow CPU wheel's libtensorflow, fetched with pip and unpacked. */
async function wheelLibtensorflow(version: string): Promise<Libtensorflow> {
  const dir = join(CACHE, `tensorflow-cpu-${version}`);
  if (existsSync(join(dir, "done"))) {
    return findLibtensorflow(
      dir,
      `the unpacked tensorflow-cpu ${version} wheel`,
    );
  }
  const python = findTool(["python3", "python"]);
  if (!python) {
    throw new SetupError(
      "python3 not found: it is needed to fetch a TensorFlow CPU wheel with pip (or pass --libtensorflow DIR)",
    );
  }
  try {
    await run(python, ["-m", "pip", "--version"], "pip");
  } catch {
    throw new SetupError(
      `pip not available for ${python} (python3 -m pip): install it (Debian: python3-pip), or pass --libtensorflow DIR`,
    );
  }
  const wheelDir = join(CACHE, "wheel");
  await Deno.mkdir(wheelDir, { recursive: true });
  let wheel = [...Deno.readDirSync(wheelDir)].find((e) =>
    e.name.startsWith(`tensorflow_cpu-${version}-`) && e.name.endsWith(".whl")
  )?.name;
  if (!wheel) {
    console.log(
      `fetching the tensorflow-cpu ${version} wheel with pip (about 270 MB)`,
    );
    await run(python, [
      "-m",
      "pip",
      "download",
      "--no-deps",
      "--only-binary=:all:",
      "--disable-pip-version-check",
      "-d",
      wheelDir,
      `tensorflow-cpu==${version}`,
    ], `pip download tensorflow-cpu==${version}`);
    wheel = [...Deno.readDirSync(wheelDir)].find((e) =>
      e.name.startsWith(`tensorflow_cpu-${version}-`) && e.name.endsWith(".whl")
    )?.name;
    if (!wheel) {
      throw new SetupError(
        `pip download tensorflow-cpu==${version} left no wheel in ${wheelDir}`,
      );
    }
  }
  console.log(`unpacking libtensorflow from ${wheel}`);
  const tmp = dir + ".tmp";
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  // the two libraries and the headers the addon includes, nothing else
  await run(python, [
    "-c",
    `import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1]); out = sys.argv[2]
keep = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/", "tensorflow/include/tsl/", "tensorflow/include/xla/tsl/")
for i in z.infolist():
    f = i.filename
    if f.endswith("/"): continue
    if f in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"):
        dest = os.path.join(out, "lib", os.path.basename(f))
    elif f.startswith(keep):
        dest = os.path.join(out, f[len("tensorflow/"):])
    else:
        continue
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(i) as src, open(dest, "wb") as dst:
        while True:
            b = src.read(1 << 20)
            if not b: break
            dst.write(b)`,
    join(wheelDir, wheel),
    tmp,
  ], `unpacking ${wheel}`);
  const strip = findTool(["strip"]);
  if (strip) {
    for (const l of ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2"]) {
      await run(strip, ["--strip-unneeded", join(tmp, "lib", l)], `strip ${l}`);
    }
  }
  await Deno.writeTextFile(join(tmp, "done"), `tensorflow-cpu ${version}\n`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, dir);
  await Deno.remove(join(wheelDir, wheel));
  return findLibtensorflow(dir, `the unpacked tensorflow-cpu ${version} wheel`);
}

/**
 * The compiler command building the addon from the package's sources (the
 * settings of its binding.gyp).
 *
 * @param cxx the C++ compiler.
 * @param pkgDir the tfjs-node package.
 * @param napiInclude the folder with node_api.h.
 * @param lib the libtensorflow to link.
 * @param out the addon file to write.
 * @returns the argument list (after the compiler).
 */
export function addonCompileArgs(
  pkgDir: string,
  napiInclude: string,
  lib: Libtensorflow,
  out: string,
): string[] {
  return [
    "-std=c++17",
    "-O2",
    "-fPIC",
    "-shared",
    "-DNAPI_VERSION=8",
    `-I${napiInclude}`,
    `-I${pkgDir}`,
    `-I${lib.includeDir}`,
    join(pkgDir, "binding", "tfjs_backend.cc"),
    join(pkgDir, "binding", "tfjs_binding.cc"),
    `-L${lib.libDir}`,
    `-l:${lib.lib}`,
    ...(lib.framework ? [`-l:${lib.framework}`] : []),
    `-Wl,-rpath,${lib.libDir}`,
    "-o",
    out,
  ];
}

/** Builds the addon into the cache and returns its path. */
async function buildAddon(
  pkgDir: string,
  lib: Libtensorflow,
  gpu: boolean,
  force: boolean,
): Promise<string> {
  const cxxEnv = Deno.env.get("CXX");
  const cxx = findTool([...(cxxEnv ? [cxxEnv] : []), "g++", "c++", "clang++"]);
  if (!cxx) {
    throw new SetupError(
      "no C++ compiler found (set CXX, or install one: Debian: apt-get install g++); it builds the addon from the package's binding/*.cc",
    );
  }
  const napiInclude = join(
    dirname(fromFileUrl(import.meta.resolve("node-api-headers"))),
    "include",
  );
  if (!existsSync(join(napiInclude, "node_api.h"))) {
    throw new SetupError(
      `node_api.h not found in ${napiInclude}: run \`deno install\` (deno.json pins node-api-headers)`,
    );
  }
  const outDir = join(CACHE, `addon-${gpu ? "gpu" : "cpu"}`);
  await Deno.mkdir(outDir, { recursive: true });
  const out = join(outDir, "tfjs_binding.node");
  // a build for the same package and libtensorflow is reused (after a
  // `deno install` that reset node_modules, say)
  const stampFile = join(outDir, "built-for.json");
  const stamp = JSON.stringify({
    pkg: JSON.parse(Deno.readTextFileSync(join(pkgDir, "package.json")))
      .version,
    lib: join(lib.libDir, lib.lib),
    size: Deno.statSync(join(lib.libDir, lib.lib)).size,
  });
  if (
    !force && existsSync(out) && existsSync(stampFile) &&
    Deno.readTextFileSync(stampFile) === stamp
  ) {
    console.log(`reusing the addon built before (${out})`);
    return out;
  }
  console.log(
    `building the addon with ${cxx} against ${join(lib.libDir, lib.lib)}`,
  );
  await run(
    cxx,
    addonCompileArgs(pkgDir, napiInclude, lib, out + ".tmp"),
    "compiling the tfjs-node addon",
  );
  await Deno.rename(out + ".tmp", out);
  await Deno.writeTextFile(stampFile, stamp);
  return out;
}

/** Loads the backend in a fresh process; its one-line description. */
async function verify(): Promise<string> {
  const code = `
    import * as tf from "@tensorflow/tfjs";
    import { initBackend } from "${
    new URL("../model/backend/runtime.ts", import.meta.url).href
  }";
    const info = await initBackend("tensorflow");
    const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync();
    if (y[0] !== 3) throw new Error("matMul gave " + y[0]);
    console.log(JSON.stringify(info));`;
  const out = await run(
    Deno.execPath(),
    ["eval", code],
    "loading the tensorflow backend",
    { cwd: ROOT },
  );
  const info = JSON.parse(out.trim().split("\n").pop()!);
  return `${
    Object.keys(info.versions).find((k) => k.includes("tfjs-node"))
  } with libtensorflow ${info.versions.libtensorflow}`;
}

/**
 * Runs the setup.
 *
 * @param options parsed flags.
 * @returns what is now set up, in words.
 */
export async function setupTensorflow(options: SetupOptions): Promise<string> {
  const pkg = options.gpu
    ? "@tensorflow/tfjs-node-gpu"
    : "@tensorflow/tfjs-node";
  const pkgDir = packageDir(pkg);
  const addonPath = tfjsNodeAddon(pkgDir);
  if (!addonPath) {
    throw new SetupError(
      `${pkg}: this runtime's N-API version (${process.versions.napi}) matches none of the package's`,
    );
  }
  if (!options.force && !options.libtensorflow && existsSync(addonPath)) {
    try {
      return `already set up: ${await verify()} (--force rebuilds)`;
    } catch (e) {
      console.log(
        `the installed addon does not load (${
          (e as Error).message
        }); setting up again`,
      );
    }
  }
  let lib: Libtensorflow | null = null;
  let addon: string | null = null;
  let source = "";
  if (options.libtensorflow) {
    lib = findLibtensorflow(
      resolve(options.libtensorflow),
      `--libtensorflow ${options.libtensorflow}`,
    );
    source = `--libtensorflow ${options.libtensorflow}`;
  } else if (options.download) {
    try {
      ({ lib, addon } = await packageDownload(pkgDir, options.gpu));
      source = "the package's download";
    } catch (e) {
      console.log(`the package's own download failed: ${(e as Error).message}`);
    }
  }
  if (!lib) {
    if (options.gpu) {
      throw new SetupError(
        "tfjs-node-gpu needs libtensorflow GPU 2.9.1 (CUDA 11.2, cuDNN 8.1; see docs/gpu.md): its download failed, so pass --libtensorflow DIR",
      );
    }
    lib = await wheelLibtensorflow(options.tfVersion);
    source = `the tensorflow-cpu ${options.tfVersion} wheel`;
  }
  if (addon) {
    // the prebuilt addon finds libtensorflow at ../../deps/lib (rpath)
    const deps = join(pkgDir, "deps");
    await Deno.remove(deps, { recursive: true }).catch(() => {});
    await Deno.symlink(dirname(lib.libDir), deps);
  } else {
    addon = await buildAddon(pkgDir, lib, options.gpu, options.force);
  }
  await Deno.mkdir(dirname(addonPath), { recursive: true });
  await Deno.copyFile(addon, addonPath);
  const loaded = await verify();
  return `${loaded} (libtensorflow from ${source}; addon ${addonPath})`;
}

if (import.meta.main) {
  try {
    const options = parseSetupArgs(Deno.args);
    console.log(`tensorflow backend: ${await setupTensorflow(options)}`);
  } catch (e) {
    if (!(e instanceof SetupError) && Deno.env.get("MERBA_DEBUG") === "1") {
      console.error(e);
    }
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
