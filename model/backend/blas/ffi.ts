/**
 * A system CBLAS (OpenBLAS preferred) reached through Deno's FFI: finds the
 * shared library at run time by probing standard paths, binds
 * `cblas_sgemm` and, when present, OpenBLAS' thread-count controls.
 * Nothing is downloaded; when no library is found {@link loadBlas} returns
 * null and callers keep TensorFlow.js' own kernels.
 *
 * Determinism: at a fixed thread count a given sgemm call gives the same
 * bits run to run, but 1- and 2-thread results can differ in the last bits
 * (the work split changes the kernels' edge handling), so
 * {@link loadBlas} always sets the thread count
 * explicitly (`openblas_set_num_threads`, default 1) rather than inheriting
 * `OPENBLAS_NUM_THREADS` or the core count: same seed + backend + BLAS
 * setting + thread count ⇒ the same bits. `blas_test.ts` checks repeat
 * calls for bit equality and 1 vs 2 threads for agreement to rounding.
 *
 * Threads: 1 is the default. With more threads than idle cores each call
 * waits for its slowest, preempted thread, and a multi-threaded sgemm of
 * the models' shapes is slower than a 1-thread one (measurements:
 * scripts/bench/README). Pass `threads` to use more on an idle machine.
 *
 * Lifetime: the library is loaded once per process and never unloaded
 * ({@link pinLibrary}: `RTLD_NODELETE`), whatever `close()` and isolate
 * teardown do. Unloading runs OpenBLAS' destructor (`gotoblas_quit`), which
 * joins its thread pool and releases its buffers; the next load starts them
 * again. Deno unloads an FFI library when the isolate that opened it ends,
 * so without the pin every test file and every job Worker tore OpenBLAS
 * down and set it up again, on whichever thread happened to end last, and
 * a Worker ending mid-run could unload it under another isolate's handle
 * count (`lifetime_test.ts` checks that the library stays mapped). The
 * destructor then runs once, at process exit, on an idle pool. It must
 * stay idle: with more than 1 thread, exiting while a Worker is inside an
 * sgemm call can deadlock in that destructor (scripts/bench/README), so
 * stop and await the Workers first.
 *
 * @module
 */

/** Row-major storage (`CblasRowMajor`). */
const ROW_MAJOR = 101;
/** `CblasNoTrans`. */
const NO_TRANS = 111;
/** `CblasTrans`. */
const TRANS = 112;

/**
 * Shared libraries tried in order by {@link loadBlas} when no path is
 * given. The first one that opens and exports `cblas_sgemm` wins. Debian's
 * `libopenblas0-pthread` installs the first two; the plain names let the
 * dynamic linker search its own paths last.
 */
export const BLAS_CANDIDATES: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
  "/usr/lib64/libopenblasp.so.0",
  "/usr/lib/libopenblas.so.0",
  "/usr/local/lib/libopenblas.so.0",
  "/usr/local/lib/libopenblas.so",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
  "/usr/lib/x86_64-linux-gnu/libblas.so.3",
  "/usr/lib/aarch64-linux-gnu/libblas.so.3",
  "libopenblas.so.0",
  "libblas.so.3",
];

const SGEMM = {
  parameters: [
    "i32", // order
    "i32", // transA
    "i32", // transB
    "i32", // M
    "i32", // N
    "i32", // K
    "f32", // alpha
    "buffer", // A
    "i32", // lda
    "buffer", // B
    "i32", // ldb
    "f32", // beta
    "buffer", // C
    "i32", // ldc
  ],
  result: "void",
} as const;

const CORE = { cblas_sgemm: SGEMM } as const;
const OPENBLAS = {
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_get_config: { parameters: [], result: "pointer" },
} as const;

/** A loaded CBLAS library. */
export interface Blas {
  /** the shared library that was opened. */
  readonly path: string;
  /** OpenBLAS' build description (`openblas_get_config`), or "" for other BLAS. */
  readonly config: string;
  /** threads sgemm uses (1 when the library has no thread control). */
  readonly threads: number;
  /**
   * Row-major `C = alpha·op(A)·op(B) + beta·C` with op(A) [m, k], op(B)
   * [k, n], C [m, n]; `a`, `b`, `c` start at the first element and `lda`,
   * `ldb`, `ldc` are row strides (elements).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /**
   * Sets the thread count (OpenBLAS only; a no-op elsewhere).
   *
   * @param threads a positive integer.
   */
  setThreads(threads: number): void;
  /**
   * Closes this handle; the object must not be used afterwards. The
   * library itself stays loaded until the process exits (see the module
   * docs).
   */
  close(): void;
}

/** Options of {@link loadBlas}. */
export interface LoadBlasOptions {
  /** library path; when given, only it is tried. */
  path?: string;
  /**
   * sgemm threads (default 1); always set explicitly so that results do
   * not depend on `OPENBLAS_NUM_THREADS` (see the module docs).
   */
  threads?: number;
}

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(
      `BLAS: threads must be a positive integer, got ${threads}`,
    );
  }
}

function checkDims(m: number, n: number, k: number): void {
  for (const [name, v] of [["m", m], ["n", n], ["k", k]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new Error(`sgemm: ${name} must be a non-negative int32, got ${v}`);
    }
  }
}

/** `dlopen` flags: `RTLD_NOW | RTLD_NODELETE` (glibc / macOS values). */
const PIN_FLAGS = Deno.build.os === "darwin" ? 0x2 | 0x80 : 0x2 | 0x1000;
/** The C library holding `dlopen`, per OS (null: pinning not supported). */
const LIBC: string | null = Deno.build.os === "linux"
  ? "libc.so.6"
  : Deno.build.os === "darwin"
  ? "/usr/lib/libSystem.B.dylib"
  : null;

/** Paths pinned in this isolate (the pin itself is per process). */
const pinned = new Set<string>();

/**
 * Loads `path` with `RTLD_NODELETE` through the system's `dlopen`, so that
 * the library stays loaded until the process exits however often Deno's
 * handles to it are closed (see the module docs). A no-op where the C
 * library or `dlopen` cannot be reached; the handle is deliberately never
 * closed.
 *
 * @param path the shared library.
 * @returns true when the library is now pinned.
 */
function pinLibrary(path: string): boolean {
  if (pinned.has(path)) return true;
  if (LIBC === null) return false;
  let libc: Deno.DynamicLibrary<
    { dlopen: { parameters: ["buffer", "i32"]; result: "pointer" } }
  >;
  try {
    libc = Deno.dlopen(LIBC, {
      dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
    });
  } catch {
    return false;
  }
  try {
    const cPath = new TextEncoder().encode(path + "\0");
    const handle = libc.symbols.dlopen(cPath, PIN_FLAGS);
    if (handle === null) return false;
    pinned.add(path);
    return true;
  } finally {
    libc.close(); // libc itself is never unloaded
  }
}

function open(path: string): Blas | null {
  let core: Deno.DynamicLibrary<typeof CORE>;
  try {
    core = Deno.dlopen(path, CORE);
  } catch {
    return null;
  }
  // the library opens and has cblas_sgemm: keep it for the process' life
  pinLibrary(path);
  let ob: Deno.DynamicLibrary<typeof OPENBLAS> | null = null;
  try {
    ob = Deno.dlopen(path, OPENBLAS);
  } catch {
    ob = null; // a CBLAS without OpenBLAS' extensions
  }
  const sg = core.symbols.cblas_sgemm;
  let threads = 1;
  const config = ob
    ? Deno.UnsafePointerView.getCString(ob.symbols.openblas_get_config()!)
    : "";
  const blas: Blas = {
    path,
    config,
    get threads() {
      return threads;
    },
    sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      checkDims(m, n, k);
      if (m === 0 || n === 0) return;
      sg(
        ROW_MAJOR,
        ta ? TRANS : NO_TRANS,
        tb ? TRANS : NO_TRANS,
        m,
        n,
        k,
        alpha,
        a,
        Math.max(1, lda),
        b,
        Math.max(1, ldb),
        beta,
        c,
        Math.max(1, ldc),
      );
    },
    setThreads(t: number) {
      checkThreads(t);
      if (!ob) return;
      ob.symbols.openblas_set_num_threads(t);
      threads = ob.symbols.openblas_get_num_threads();
    },
    close() {
      // drops this isolate's handles; the library stays loaded (pinned)
      core.close();
      ob?.close();
    },
  };
  return blas;
}

/**
 * Opens the first usable CBLAS library.
 *
 * @param options an explicit library path and the thread count.
 * @returns the library, or null when none of the candidates (or the given
 *   path) opens with a `cblas_sgemm` symbol.
 * @throws Error when `threads` is not a positive integer.
 *
 * @example
 * ```ts ignore
 * const blas = loadBlas({ threads: 2 });
 * if (blas) {
 *   const c = new Float32Array(4);
 *   blas.sgemm(false, false, 2, 2, 1, 1, new Float32Array([1, 2]), 1,
 *     new Float32Array([3, 4]), 2, 0, c, 2); // c = [3, 4, 6, 8]
 * }
 * ```
 */
export function loadBlas(options: LoadBlasOptions = {}): Blas | null {
  const threads = options.threads ?? 1;
  checkThreads(threads);
  const paths = options.path !== undefined ? [options.path] : BLAS_CANDIDATES;
  for (const p of paths) {
    const blas = open(p);
    if (blas) {
      blas.setThreads(threads);
      return blas;
    }
  }
  return null;
}
