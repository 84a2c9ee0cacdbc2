/**
 * Reading annotation spreadsheets (CASME II, SAMM) with `exceljs`: finds the
 * header row by its column names (SAMM's sheet has title rows above it) and
 * returns the rows below as text cells with their spreadsheet row numbers.
 *
 * @module
 */
import ExcelJS from "exceljs";
import { normaliseHeader } from "./csv.ts";

/** A data row of a spreadsheet: 1-based sheet row number and text cells. */
export interface SheetRow {
  /** 1-based row number in the sheet (as Excel shows it). */
  row: number;
  /** cell text by requested column name. */
  cells: Record<string, string>;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") {
    // deno-lint-ignore no-explicit-any
    const o = v as any;
    if ("result" in o) return cellText(o.result); // formula
    if ("richText" in o) {
      // deno-lint-ignore no-explicit-any
      return o.richText.map((r: any) => r.text).join("");
    }
    if ("text" in o) return String(o.text); // hyperlink
    if (v instanceof Date) return v.toISOString();
    return String(v);
  }
  return String(v).trim();
}

/**
 * Reads the first worksheet of an .xlsx file that has a header row with all
 * `columns` (matched case-, space- and underscore-insensitively; each entry
 * may list alternatives separated by `|`). Rows whose cells are all empty are
 * dropped. Errors name the file and the missing columns.
 */
export async function readXlsxTable(
  path: string,
  columns: readonly string[],
): Promise<SheetRow[]> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(path);
  } catch (e) {
    throw new Error(
      `cannot read spreadsheet ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
  if (wb.worksheets.length === 0) {
    throw new Error(`spreadsheet ${path}: no worksheet`);
  }
  const wanted = columns.map((c) => c.split("|").map(normaliseHeader));
  let ws = wb.worksheets[0];
  let headerRow = -1;
  let colIndex: number[] = [];
  // the first worksheet whose first 50 rows hold a row with all the columns
  for (const sheet of wb.worksheets) {
    const maxScan = Math.min(sheet.rowCount, 50);
    for (let r = 1; r <= maxScan && headerRow < 0; r++) {
      const row = sheet.getRow(r);
      const names: string[] = [];
      row.eachCell({ includeEmpty: true }, (cell, col) => {
        names[col] = normaliseHeader(cellText(cell.value));
      });
      const idx = wanted.map((alts) =>
        names.findIndex((n) => alts.includes(n))
      );
      if (idx.every((i) => i > 0)) {
        headerRow = r;
        colIndex = idx;
        ws = sheet;
      }
    }
    if (headerRow >= 0) break;
  }
  if (headerRow < 0) {
    throw new Error(
      `spreadsheet ${path}: no header row with columns ${
        columns.map((c) => `"${c}"`).join(", ")
      } in the first 50 rows of any worksheet (${
        wb.worksheets.map((w) => `"${w.name}"`).join(", ")
      })`,
    );
  }
  const out: SheetRow[] = [];
  for (let r = headerRow + 1; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    const cells: Record<string, string> = {};
    let any = false;
    columns.forEach((c, k) => {
      const t = cellText(row.getCell(colIndex[k]).value);
      if (t !== "") any = true;
      cells[c] = t;
    });
    if (any) out.push({ row: r, cells });
  }
  return out;
}
