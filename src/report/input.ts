/**
 * Reads a saved result (a command's `--json` output) as report input: either a combined object
 * with several parts (the tour's) or one command's result, recognised by its fields.
 */
import { RESULT_KINDS } from '../result.js';
import type { ReportInput } from './types.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Which command produced a single result, judged by the fields it has. */
export type InputKind = 'combined' | 'theory' | 'demo' | 'prove' | 'limits' | 'max';

export function resultKind(value: unknown): InputKind | undefined {
  if (!isObj(value)) return undefined;
  if (value.kind === 'tour') return 'combined';
  if (typeof value.kind === 'string' && (RESULT_KINDS as readonly string[]).includes(value.kind)) {
    return value.kind as InputKind;
  }
  if (Array.isArray(value.limits)) return 'limits';
  if (isObj(value.models) && 'endpoints' in value && 'machines' in value) return 'theory';
  if ('established' in value && 'machines' in value && 'ports' in value) return 'prove';
  if ('established' in value && ('series' in value || 'stop' in value || 'rate' in value)) {
    return 'max';
  }
  if (Array.isArray(value.experiments) && Object.keys(value).length === 1) return 'demo';
  const parts = ['theory', 'experiments', 'proof', 'limits', 'max', 'machine'];
  if (parts.some((k) => k in value && (isObj(value[k]) || Array.isArray(value[k])))) {
    return 'combined';
  }
  return undefined;
}

/**
 * The report input for a parsed results file, or undefined when it is not a fourtuple result.
 * A single command's result becomes the matching part; a combined object is taken as it is.
 */
export function toReportInput(value: unknown): ReportInput | undefined {
  const kind = resultKind(value);
  if (kind === undefined || !isObj(value)) return undefined;
  // a limits result has its own `machine` (the machine-wide estimate): only a description counts
  const m = value.machine;
  const machine =
    isObj(m) && ('kernel' in m || 'node' in m || 'cores' in m)
      ? { machine: m as ReportInput['machine'] }
      : {};
  switch (kind) {
    case 'theory':
      return { theory: value as unknown as NonNullable<ReportInput['theory']>, ...machine };
    case 'demo':
      return { experiments: value as unknown as NonNullable<ReportInput['experiments']> };
    case 'prove':
      return { proof: value as unknown as NonNullable<ReportInput['proof']>, ...machine };
    case 'limits':
      return { limits: value as unknown as NonNullable<ReportInput['limits']>, ...machine };
    case 'max':
      return {
        max: value as unknown as NonNullable<ReportInput['max']>,
        ...(isObj(value.limits) && Array.isArray(value.limits.limits)
          ? { limits: value.limits as unknown as NonNullable<ReportInput['limits']> }
          : {}),
        ...machine,
      };
    case 'combined': {
      const out: Obj = { ...machine };
      for (const k of ['theory', 'experiments', 'proof', 'limits', 'max', 'title']) {
        if (value[k] !== undefined && value[k] !== null) out[k] = value[k];
      }
      return out as ReportInput;
    }
  }
}
