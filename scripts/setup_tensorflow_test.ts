import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addonCompileArgs,
  findLibtensorflow,
  findTool,
  packageDownloadUrls,
  parseSetupArgs,
  SetupError,
  TF_WHEEL_VERSION,
} from "./setup_tensorflow.ts";

const SCRIPT = new URL("setup_tensorflow.ts", import.meta.url).pathname;

/** Makes the files of a libtensorflow layout (empty) under a temp dir. */
async function layout(files: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const f of files) {
    await Deno.mkdir(join(dir, f, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, f), "");
  }
  return dir;
}

/** Runs the setup CLI with a PATH of `path`; exit code and stderr. */
async function cli(
  args: string[],
  path: string,
): Promise<{ code: number; err: string; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    env: { PATH: path, CXX: "", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: r.code,
    err: dec.decode(r.stderr),
    out: dec.decode(r.stdout),
  };
}

Deno.test("parseSetupArgs reads --gpu, --libtensorflow, --force, --no-download, --tf-version and names a bad flag or version in one line", () => {
  assert.deepEqual(parseSetupArgs([]), {
    gpu: false,
    libtensorflow: undefined,
    force: false,
    download: true,
    tfVersion: TF_WHEEL_VERSION,
  });
  assert.deepEqual(
    parseSetupArgs([
      "--gpu",
      "--libtensorflow",
      "/opt/tf",
      "--force",
      "--no-download",
      "--tf-version",
      "2.16.1",
    ]),
    {
      gpu: true,
      libtensorflow: "/opt/tf",
      force: true,
      download: false,
      tfVersion: "2.16.1",
    },
  );
  assert.throws(() => parseSetupArgs(["--cuda"]), SetupError);
  assert.throws(
    () => parseSetupArgs(["--tf-version", "latest"]),
    /--tf-version: expected a version like \d/,
  );
});

Deno.test("findLibtensorflow accepts the C library's layout and a TensorFlow wheel's folder, and says what is missing otherwise", async () => {
  const c = await layout([
    "lib/libtensorflow.so.2",
    "lib/libtensorflow_framework.so.2",
    "include/tensorflow/c/c_api.h",
  ]);
  const a = findLibtensorflow(c, "x");
  assert.equal(a.lib, "libtensorflow.so.2");
  assert.equal(a.framework, "libtensorflow_framework.so.2");
  assert.equal(a.libDir, join(c, "lib"));
  assert.equal(a.includeDir, join(c, "include"));
  const wheel = await layout([
    "libtensorflow_cc.so.2",
    "libtensorflow_framework.so.2",
    "include/tensorflow/c/c_api.h",
  ]);
  const b = findLibtensorflow(wheel, "x");
  assert.equal(b.lib, "libtensorflow_cc.so.2");
  assert.equal(b.libDir, wheel);
  const noHeaders = await layout(["lib/libtensorflow.so.2"]);
  assert.throws(
    () => findLibtensorflow(noHeaders, "--libtensorflow D"),
    /^Error: --libtensorflow D: .* has libtensorflow\.so\.2 but no include\/tensorflow\/c\/c_api\.h/,
  );
  const empty = await layout(["README"]);
  assert.throws(
    () => findLibtensorflow(empty, "--libtensorflow D"),
    /--libtensorflow D: no libtensorflow\.so\.2, libtensorflow_cc\.so\.2, libtensorflow\.so in /,
  );
  assert.throws(
    () => findLibtensorflow(join(empty, "nope"), "--libtensorflow D"),
    /does not exist/,
  );
  for (const d of [c, wheel, noHeaders, empty]) {
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("the package's download addresses are the ones its install script uses, and honour TFJS_NODE_BASE_URI", () => {
  const pj = {
    version: "4.22.0",
    binary: {
      host: "https://storage.googleapis.com/tf-builds/pre-built-binary",
      remote_path: "./napi-v{napi_build_version}/{version}/",
    },
  };
  assert.deepEqual(packageDownloadUrls(pj, false, () => undefined), {
    libtensorflow:
      "https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz",
    addon:
      "https://storage.googleapis.com/tf-builds/pre-built-binary/napi-v8/4.22.0/CPU-linux-4.22.0.tar.gz",
  });
  const gpu = packageDownloadUrls(
    pj,
    true,
    (n) => n === "TFJS_NODE_BASE_URI" ? "https://mirror/lt-" : undefined,
  );
  assert.equal(
    gpu.libtensorflow,
    "https://mirror/lt-gpu-linux-x86_64-2.9.1.tar.gz",
  );
  assert.match(gpu.addon, /GPU-linux-4\.22\.0\.tar\.gz$/);
});

Deno.test("the addon is compiled from the package's binding sources with binding.gyp's define and libraries and an rpath to libtensorflow", () => {
  const args = addonCompileArgs("/p", "/h", {
    libDir: "/tf/lib",
    lib: "libtensorflow_cc.so.2",
    framework: "libtensorflow_framework.so.2",
    includeDir: "/tf/include",
  }, "/o/tfjs_binding.node");
  for (
    const a of [
      "-DNAPI_VERSION=8",
      "-shared",
      "-I/h",
      "-I/p",
      "-I/tf/include",
      "/p/binding/tfjs_backend.cc",
      "/p/binding/tfjs_binding.cc",
      "-L/tf/lib",
      "-l:libtensorflow_cc.so.2",
      "-l:libtensorflow_framework.so.2",
      "-Wl,-rpath,/tf/lib",
    ]
  ) assert.ok(args.includes(a), a);
  assert.deepEqual(args.slice(-2), ["-o", "/o/tfjs_binding.node"]);
});

Deno.test("findTool searches PATH in order of preference and takes a path as is", async () => {
  const dir = await layout(["bin/c++", "bin/g++"]);
  const path = `/nonexistent:${join(dir, "bin")}`;
  assert.equal(findTool(["clang++", "g++", "c++"], path), join(dir, "bin/g++"));
  assert.equal(findTool(["clang++"], path), null);
  assert.equal(findTool([join(dir, "bin/c++")], ""), join(dir, "bin/c++"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("setup:tensorflow without a C++ compiler, or without python3 for the wheel, fails with one error line and exit code 1", async () => {
  const lib = await layout([
    "lib/libtensorflow.so.2",
    "include/tensorflow/c/c_api.h",
  ]);
  const noCxx = await cli(["--libtensorflow", lib], "/nonexistent");
  assert.equal(noCxx.code, 1, noCxx.err);
  assert.match(
    noCxx.err.trim(),
    /^error: no C\+\+ compiler found \(set CXX, or install one: Debian: apt-get install g\+\+\)/,
  );
  assert.equal(noCxx.err.trim().split("\n").length, 1);
  const noPython = await cli(
    ["--force", "--no-download", "--tf-version", "0.0.1"],
    "/nonexistent",
  );
  assert.equal(noPython.code, 1, noPython.err);
  assert.match(
    noPython.err.trim(),
    /^error: python3 not found: it is needed to fetch a TensorFlow CPU wheel with pip \(or pass --libtensorflow DIR\)$/,
  );
  await Deno.remove(lib, { recursive: true });
});
