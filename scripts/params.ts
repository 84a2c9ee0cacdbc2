/**
 * Prints parameter counts of MERba and MambaVision-B (linear and DGCM heads)
 * with a per-stage breakdown, and of a given configuration.
 *
 * ```
 * deno task params [--config cfg.json] [--json]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  countParams,
  mambaVisionB,
  merbaBase,
  type ModelConfig,
} from "../model/mod.ts";
import { readModelConfig } from "../model/config_file.ts";

const USAGE = "usage: deno task params [--config cfg.json] [--json]";

/** Per-part parameter counts of a configuration. */
export function breakdown(config: ModelConfig): Record<string, number> {
  const parts: Record<string, number> = {
    patch_embed: countParams(config, "patch_embed."),
  };
  config.dims.forEach((_, i) => {
    parts[`levels.${i}`] = countParams(config, `levels.${i}.`);
  });
  parts.norm = countParams(config, "norm.");
  parts.head = countParams(config, "head");
  parts.total = countParams(config);
  return parts;
}

function fmt(n: number): string {
  return n >= 1e6
    ? `${(n / 1e6).toFixed(2)}M`
    : n >= 1e3
    ? `${(n / 1e3).toFixed(1)}k`
    : `${n}`;
}

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const models: [string, ModelConfig][] = [
    ["MERba (DGCM)", merbaBase({ head: "dgcm" })],
    ["MERba (linear, 7)", merbaBase({ head: "linear", numClasses: 7 })],
    [
      "MambaVision-B (linear, 7)",
      mambaVisionB({ head: "linear", numClasses: 7 }),
    ],
    ["MambaVision-B (DGCM)", mambaVisionB({ head: "dgcm" })],
  ];
  if (values.config) {
    models.push([values.config, await readModelConfig(values.config)]);
  }
  const rows: ({ name: string; total: number } & Record<string, unknown>)[] =
    models.map(
      ([name, cfg]) => {
        const b = breakdown(cfg);
        return { name, ...b, total: b.total };
      },
    );
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const cols = Object.keys(rows[0]).filter((k) => k !== "name");
  const allCols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((
    k,
  ) => k !== "name");
  const head = ["model", ...allCols.length > cols.length ? allCols : cols];
  const table = [
    head,
    ...rows.map((r) => [
      r.name,
      ...head.slice(1).map((k) => {
        const v = r[k];
        return typeof v === "number" ? `${fmt(v)}` : "";
      }),
    ]),
  ];
  const widths = head.map((_, i) =>
    Math.max(...table.map((row) => row[i].length))
  );
  for (const row of table) {
    console.log(
      row.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))
        .join("  "),
    );
  }
  console.log("\nexact totals:");
  for (const r of rows) {
    console.log(`  ${r.name}: ${r.total.toLocaleString("en-US")}`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`params: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
