/**
 * The backend of a run whose spec and command line name none: the first
 * available of model/backend/runtime.ts' fixed `DEFAULT_RANKING`. The run, its
 * Slurm array tasks, `status` and `report` resolve a spec through here, so
 * that they agree on the backend and with it on the jobs' identities.
 *
 * @module
 */
import type { RawSpec } from "./load.ts";
import { resolveExperiment, type SpecOverrides } from "./overrides.ts";
import type { Experiment } from "./schema.ts";

/**
 * Whether neither the spec (its `extends` chain and the chosen preset) nor
 * the command line (`--backend`, `--set backend=…`) names a backend: then
 * {@link main} picks the default with `chooseBackend` (model/backend/runtime.ts).
 */
export function backendUnset(
  raw: Record<string, unknown>,
  opts: { backend?: string; preset?: string; sets?: { path: string }[] },
): boolean {
  if (opts.backend !== undefined || "backend" in raw) return false;
  if ((opts.sets ?? []).some((s) => s.path === "backend")) return false;
  const presets = raw.presets as
    | Record<string, Record<string, unknown>>
    | undefined;
  const preset = opts.preset === undefined ? undefined : presets?.[opts.preset];
  return !(preset && typeof preset === "object" && "backend" in preset);
}

/** Options of {@link resolveWithDefaultBackend}. */
export interface DefaultBackendOptions {
  /** stand-in dependencies (tests): the spec's own backend is kept. */
  depsModule?: string;
  /** told the choice and its reason, in one line. */
  onChoice?: (line: string) => void;
}

/**
 * Resolves `raw` with `args` (see `resolveExperiment`); when neither names a
 * backend (see {@link backendUnset}), picks the default one and returns the
 * args with it set. The spec is validated before any backend is loaded.
 */
export async function resolveWithDefaultBackend<A extends SpecOverrides>(
  raw: RawSpec,
  args: A,
  file: string,
  options: DefaultBackendOptions = {},
): Promise<{ spec: Experiment; args: A }> {
  const spec = resolveExperiment(raw, args, file);
  if (options.depsModule || !backendUnset(raw, args)) return { spec, args };
  const { chooseBackend } = await import("../model/backend/runtime.ts");
  const choice = await chooseBackend();
  options.onChoice?.(`backend: ${choice.name} (${choice.reason})`);
  const chosen = { ...args, backend: choice.name } as A;
  return { spec: resolveExperiment(raw, chosen, file), args: chosen };
}
