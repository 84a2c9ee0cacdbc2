/**
 * A small RFC 4180 CSV reader (quoted fields, doubled quotes, embedded
 * commas and line breaks, CRLF or LF, optional UTF-8 BOM) and a table view
 * with case-insensitive column lookup and source line numbers for errors.
 *
 * @module
 */

/** One parsed row with the 1-based line on which it starts. */
export interface CsvRow {
  /** 1-based line number of the row's first character. */
  line: number;
  /** the fields, unquoted. */
  fields: string[];
}

/**
 * Parses CSV text into rows (RFC 4180). Blank lines are dropped. `name`
 * appears in error messages (unterminated quote, stray quote).
 */
export function parseCsv(text: string, name = "<csv>"): CsvRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1, rowLine = 1;
  let i = 0;
  let quotedField = false;
  const endField = () => {
    fields.push(field);
    field = "";
    quotedField = false;
  };
  const endRow = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === "")) {
      rows.push({ line: rowLine, fields });
    }
    fields = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      if (field !== "" || quotedField) {
        throw new Error(`${name}:${line}: stray quote inside a field`);
      }
      quotedField = true;
      i++;
      const startLine = line;
      for (;;) {
        if (i >= text.length) {
          throw new Error(`${name}:${startLine}: unterminated quoted field`);
        }
        const d = text[i];
        if (d === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === "\n") line++;
        field += d;
        i++;
      }
      const n = text[i];
      if (n !== undefined && n !== "," && n !== "\n" && n !== "\r") {
        throw new Error(`${name}:${line}: unexpected text after closing quote`);
      }
      continue;
    }
    if (c === ",") {
      endField();
      i++;
      continue;
    }
    if (c === "\r" || c === "\n") {
      endRow();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      rowLine = line;
      continue;
    }
    field += c;
    i++;
  }
  if (field !== "" || fields.length > 0 || quotedField) endRow();
  return rows;
}

/** A CSV file with a header row: column lookup by (case-insensitive) name. */
export interface CsvTable {
  /** file name (for messages). */
  name: string;
  /** header names as written. */
  header: string[];
  /** data rows. */
  rows: CsvRow[];
  /**
   * Index of the first column whose normalised name is one of `names`, or
   * -1. Normalisation lower-cases and drops spaces, `_` and `-`.
   */
  column(...names: string[]): number;
}

/** Lower-cases and removes spaces, underscores and hyphens. */
export function normaliseHeader(s: string): string {
  return s.toLowerCase().replace(/[\s_\-]+/g, "");
}

/** Parses CSV text whose first row is a header. */
export function csvTable(text: string, name: string): CsvTable {
  const all = parseCsv(text, name);
  if (all.length === 0) throw new Error(`${name}: empty CSV (no header row)`);
  const header = all[0].fields.map((h) => h.trim());
  const norm = header.map(normaliseHeader);
  return {
    name,
    header,
    rows: all.slice(1),
    column(...names: string[]): number {
      for (const n of names) {
        const i = norm.indexOf(normaliseHeader(n));
        if (i >= 0) return i;
      }
      return -1;
    },
  };
}

/** Reads a CSV file with a header row; errors name the file. */
export async function readCsvTable(path: string): Promise<CsvTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(
      `cannot read CSV ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
  return csvTable(text, path);
}
