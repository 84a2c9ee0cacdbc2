/**
 * Test fixture builders: tiny corpora written to a temp folder in the real
 * layouts and image formats (JPEG via sharp, BMP via bmp-js, xlsx via
 * exceljs), used by the adapter, registry and pipeline tests.
 *
 * @module
 */
import ExcelJS from "exceljs";
import { dirname, join } from "node:path";
import { encodeRgbImage, type RgbImage } from "../image/image.ts";

/**
 * A frame whose face-like blob brightens with `intensity` (0..1): frame
 * energy relative to intensity 0 grows monotonically with it. `seed`
 * varies the static texture per clip.
 */
export function syntheticFrame(
  width: number,
  height: number,
  intensity: number,
  seed = 1,
): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const tex = ((x * 37 + y * 91 + seed * 53) % 17) * 3;
      const dx = (x - width / 2) / (width / 4),
        dy = (y - height / 2) / (height / 4);
      const blob = Math.exp(-(dx * dx + dy * dy)) * 120 * intensity;
      const v = Math.min(255, Math.round(60 + tex + blob));
      const i = 3 * (y * width + x);
      data[i] = v;
      data[i + 1] = Math.max(0, v - 10);
      data[i + 2] = Math.min(255, v + 5);
    }
  }
  return { width, height, data };
}

/**
 * Writes a clip: one frame per name, with intensity peaking (1.0) at index
 * `apexIndex` and falling off linearly on both sides.
 */
export async function writeClip(
  dir: string,
  names: readonly string[],
  apexIndex: number,
  size: [number, number] = [32, 24],
  seed = 1,
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const d = Math.abs(i - apexIndex);
    const intensity = i === 0 ? 0 : Math.max(0.1, 1 - 0.25 * d);
    const img = syntheticFrame(size[0], size[1], intensity, seed);
    const p = join(dir, names[i]);
    await Deno.writeFile(p, await encodeRgbImage(img, names[i]));
    out.push(p);
  }
  return out;
}

/**
 * Writes an .xlsx with optional title rows above a header and data rows;
 * `coverSheet` puts a notes worksheet without the table first.
 */
export async function writeXlsx(
  path: string,
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  titleRows: readonly (readonly string[])[] = [],
  coverSheet = false,
): Promise<void> {
  const wb = new ExcelJS.Workbook();
  if (coverSheet) {
    const notes = wb.addWorksheet("Notes");
    notes.addRow(["About this sheet"]);
    notes.addRow(["Subject codes are anonymised"]);
  }
  const ws = wb.addWorksheet("Sheet1");
  for (const t of titleRows) ws.addRow([...t]);
  ws.addRow([...header]);
  for (const r of rows) ws.addRow([...r]);
  await Deno.mkdir(dirname(path), { recursive: true });
  await wb.xlsx.writeFile(path);
}

/** `img{n}.jpg` names for frames a..b. */
export function range(
  a: number,
  b: number,
  name: (n: number) => string,
): string[] {
  const out: string[] = [];
  for (let n = a; n <= b; n++) out.push(name(n));
  return out;
}

/**
 * A CASME II fixture: 3 clips (sub01 happiness, sub01 with apex `/`,
 * sub02 disgust) + 1 row labelled `others`. Returns the root.
 */
export async function writeCasme2Fixture(root: string): Promise<string> {
  const fr = join(root, "CASME2_RAW_selected");
  const img = (n: number) => `img${n}.jpg`;
  await writeClip(
    join(fr, "sub01", "EP02_01f"),
    range(10, 16, img),
    3,
    undefined,
    1,
  );
  await writeClip(
    join(fr, "sub01", "EP03_02"),
    range(40, 46, img),
    4,
    undefined,
    2,
  );
  await writeClip(
    join(fr, "sub02", "EP01_11f"),
    range(5, 9, img),
    2,
    undefined,
    3,
  );
  await writeClip(
    join(fr, "sub02", "EP04_01"),
    range(1, 4, img),
    2,
    undefined,
    4,
  );
  await writeXlsx(join(root, "CASME2-coding-20140508.xlsx"), [
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
  ], [
    ["01", "EP02_01f", 10, 13, 16, "12", "happiness"],
    ["01", "EP03_02", 40, "/", 46, "4", "repression"],
    [2, "EP01_11f", 5, 7, 9, "9", "Disgust"],
    [2, "EP04_01", 1, 3, 4, "4", "others"],
  ]);
  return root;
}

/** A SAMM fixture with title rows, 5-digit frame numbers and an apex of -1. */
export async function writeSammFixture(root: string): Promise<string> {
  const fr = join(root, "SAMM");
  const img = (s: string) => (n: number) =>
    `${s}_${String(n).padStart(5, "0")}.jpg`;
  await writeClip(
    join(fr, "006", "006_1_2"),
    range(5562, 5568, img("006")),
    4,
    undefined,
    5,
  );
  await writeClip(
    join(fr, "011", "011_2_3"),
    range(100, 105, img("011")),
    2,
    undefined,
    6,
  );
  await writeClip(
    join(fr, "011", "011_3_1"),
    range(7, 11, img("011")),
    1,
    undefined,
    7,
  );
  await writeXlsx(
    join(root, "SAMM_Micro_FACS_Codes_v2.xlsx"),
    [
      "Subject",
      "Filename",
      "Inducement Code",
      "Onset Frame",
      "Apex Frame",
      "Offset Frame",
      "Duration",
      "Type",
      "Action Units",
      "Notes",
      "Estimated Emotion",
    ],
    [
      [
        "006",
        "006_1_2",
        1,
        5562,
        5566,
        5568,
        7,
        "Micro - 1/2",
        "R12",
        "",
        "Happiness",
      ],
      [11, "011_2_3", 2, 100, -1, 105, 6, "Micro - 1/2", "4", "", "Anger"],
      [11, "011_3_1", 3, 7, 8, 11, 5, "Micro - 1/2", "1+2", "", "Surprise"],
    ],
    [["SAMM Micro-FACS codes"], ["version 2"], []],
  );
  return root;
}

/** A SMIC-HS fixture (BMP frames, no apex labels). */
export async function writeSmicFixture(root: string): Promise<string> {
  const hs = join(root, "HS");
  const img = (n: number) => `image${String(n).padStart(6, "0")}.bmp`;
  await writeClip(
    join(hs, "s1", "micro", "negative", "s1_ne_01"),
    range(106, 112, img),
    4,
    undefined,
    8,
  );
  await writeClip(
    join(hs, "s1", "micro", "positive", "s1_po_02"),
    range(20, 25, img),
    2,
    undefined,
    9,
  );
  await writeClip(
    join(hs, "s3", "micro", "surprise", "s3_sur_01"),
    range(1, 6, img),
    3,
    undefined,
    10,
  );
  await Deno.mkdir(join(hs, "s2", "non_micro"), { recursive: true });
  return root;
}

/** A DFME fixture in the documented layout (see data/adapters/dfme.ts). */
export async function writeDfmeFixture(root: string): Promise<string> {
  const img = (n: number) => `${String(n).padStart(3, "0")}.jpg`;
  const clips: [string, string, string, number, number, string][] = [
    ["train", "c001", "p01", 1, 4, "happiness"],
    ["train", "c002", "p01", 1, 3, "fear"],
    ["train", "c003", "p02", 1, 5, "contempt"],
    ["testA", "c004", "p03", 1, 2, "anger"],
    ["testB", "c005", "p04", 1, 3, "Surprise"],
  ];
  const bySplit = new Map<string, string[]>();
  let seed = 20;
  for (const [split, id, subj, on, apex, label] of clips) {
    await writeClip(
      join(root, "frames", id),
      range(1, 6, img),
      apex - 1,
      undefined,
      seed++,
    );
    const lines = bySplit.get(split) ?? [];
    // the testA row gives file names, the others numbers
    const onC = split === "testA" ? img(on) : String(on);
    const apC = split === "testA" ? img(apex) : String(apex);
    lines.push(`${id},${subj},${onC},${apC},6,${label}`);
    bySplit.set(split, lines);
  }
  for (const [split, lines] of bySplit) {
    await Deno.writeTextFile(
      join(root, `${split}.csv`),
      "Sample,Subject,Onset,Apex,Offset,Label\r\n" + lines.join("\r\n") +
        "\r\n",
    );
  }
  return root;
}
