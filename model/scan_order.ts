/**
 * Scan orders of the asymmetric multi-scanning strategy: permutations that
 * turn a 2-D grid of tokens (row-major) into a 1-D sequence.
 *
 * @module
 */
import type { BaseScan, ScanName } from "./types.ts";

/** The base scan orders. */
export const BASE_SCANS: readonly BaseScan[] = ["h", "v", "hz", "vz"];

/**
 * Every valid scan name: the base orders, then their reversed (`-r`),
 * mirrored (`-m`) and reversed-mirrored (`-rm`) counterparts. The one list
 * of scan names; the spec schema (`dsl/schema.ts`) derives from it.
 */
export const SCAN_NAMES = [
  "h",
  "v",
  "hz",
  "vz",
  "h-r",
  "v-r",
  "hz-r",
  "vz-r",
  "h-m",
  "v-m",
  "hz-m",
  "vz-m",
  "h-rm",
  "v-rm",
  "hz-rm",
  "vz-rm",
] as const satisfies readonly ScanName[];

// every ScanName is listed (the `satisfies` above: every entry is one)
type Missing = Exclude<ScanName, typeof SCAN_NAMES[number]>;
const _complete: [Missing] extends [never] ? true : Missing = true;

/** Whether `name` is a valid {@link ScanName}. */
export function isScanName(name: unknown): name is ScanName {
  return typeof name === "string" &&
    (SCAN_NAMES as readonly string[]).includes(name);
}

/**
 * The scan order `name` over a `height`×`width` grid: element `i` is the
 * row-major index of the token visited at sequence position `i`.
 *
 * - `h`: row by row, left to right; `v`: column by column, top to bottom;
 * - `hz`: rows alternate left→right / right→left; `vz`: columns alternate
 *   top→bottom / bottom→top; all start at the top-left token;
 * - `-m` mirrors left↔right (starts top-right), `-r` reverses the sequence,
 *   `-rm` does both.
 *
 * @example
 * ```ts
 * import { scanOrder } from "./scan_order.ts";
 * scanOrder(2, 3, "hz"); // Int32Array [0, 1, 2, 5, 4, 3]
 * ```
 */
export function scanOrder(
  height: number,
  width: number,
  name: ScanName,
): Int32Array {
  if (!Number.isInteger(height) || height < 1) {
    throw new Error(
      `scanOrder: height must be a positive integer, got ${height}`,
    );
  }
  if (!Number.isInteger(width) || width < 1) {
    throw new Error(
      `scanOrder: width must be a positive integer, got ${width}`,
    );
  }
  if (!isScanName(name)) {
    throw new Error(
      `scanOrder: unknown scan ${JSON.stringify(name)}; expected one of ${
        SCAN_NAMES.join(", ")
      }`,
    );
  }
  const [base, suffix = ""] = name.split("-") as [BaseScan, string?];
  const mirror = suffix.includes("m");
  const reverse = suffix.includes("r");
  const out = new Int32Array(height * width);
  let i = 0;
  const push = (r: number, c: number) => {
    out[i++] = r * width + (mirror ? width - 1 - c : c);
  };
  if (base === "h" || base === "hz") {
    for (let r = 0; r < height; r++) {
      const back = base === "hz" && r % 2 === 1;
      for (let k = 0; k < width; k++) push(r, back ? width - 1 - k : k);
    }
  } else {
    for (let c = 0; c < width; c++) {
      const back = base === "vz" && c % 2 === 1;
      for (let k = 0; k < height; k++) push(back ? height - 1 - k : k, c);
    }
  }
  if (reverse) out.reverse();
  return out;
}

/** The inverse permutation: `inverse(p)[p[i]] = i`. */
export function inverse(perm: Int32Array): Int32Array {
  const inv = new Int32Array(perm.length).fill(-1);
  for (let i = 0; i < perm.length; i++) {
    const p = perm[i];
    if (p < 0 || p >= perm.length || inv[p] !== -1) {
      throw new Error(`inverse: not a permutation (value ${p} at ${i})`);
    }
    inv[p] = i;
  }
  return inv;
}
