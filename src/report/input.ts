/**
 * Reads a saved result (a command's `--json` output) as report input. A result says what it is:
 * its `kind` picks the part of the page and its `version` says whether this build can read it.
 * Nothing is guessed from which fields a value has.
 */
import { type FourtupleCode, UsageError } from '../errors.js';
import { RESULT_KINDS, RESULT_VERSION, type ResultKind } from '../result.js';
import { RESULT_SCHEMAS } from './schema.generated.js';
import type { AnyResult, ReportInput, ResultByKind, Saved } from './types.js';
import { findMismatch } from './validate.js';

type ResultCode = Extract<
  FourtupleCode,
  'FOURTUPLE_RESULT_UNKNOWN' | 'FOURTUPLE_RESULT_VERSION' | 'FOURTUPLE_RESULT_INVALID'
>;

/** A value the report cannot read: bad input (the CLI exits 2), with its own code. */
export class ResultError extends UsageError {
  override name = 'ResultError';
  override readonly code: ResultCode;
  constructor(code: ResultCode, message: string) {
    super(message);
    this.code = code;
  }
}

function isKind(v: unknown): v is ResultKind {
  return typeof v === 'string' && (RESULT_KINDS as readonly string[]).includes(v);
}

/**
 * The parsed JSON as a result of its kind. Refuses (ResultError) a value with no known `kind`
 * (FOURTUPLE_RESULT_UNKNOWN) and one written by a newer fourtuple (FOURTUPLE_RESULT_VERSION).
 * `name` says what was read, for the message ("results.json").
 */
export function readResult(value: unknown, name = 'the result'): Saved<ResultByKind[ResultKind]> {
  const expected = `expected the --json output of ${RESULT_KINDS.join(', ')}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResultError(
      'FOURTUPLE_RESULT_UNKNOWN',
      `${name} is not a fourtuple result (${expected})`,
    );
  }
  const { kind, version } = value as { kind?: unknown; version?: unknown };
  if (!isKind(kind)) {
    const got = kind === undefined ? 'no kind' : `kind ${JSON.stringify(kind)}`;
    throw new ResultError(
      'FOURTUPLE_RESULT_UNKNOWN',
      `${name} is not a fourtuple result (${got}; ${expected})`,
    );
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new ResultError(
      'FOURTUPLE_RESULT_UNKNOWN',
      `${name} is a ${kind} result without a valid version (got ${JSON.stringify(version) ?? 'none'})`,
    );
  }
  if (version > RESULT_VERSION) {
    throw new ResultError(
      'FOURTUPLE_RESULT_VERSION',
      `${name} was written by a newer fourtuple (version ${version}; this one reads up to ${RESULT_VERSION})`,
    );
  }
  // Every field is checked against the schema derived from the library's own result types, so
  // the renderers read only values of the shape they were written for.
  const mismatch = findMismatch(value, RESULT_SCHEMAS[kind]!);
  if (mismatch !== undefined) {
    throw new ResultError(
      'FOURTUPLE_RESULT_INVALID',
      `${name} is not a valid ${kind} result: ${mismatch}`,
    );
  }
  return value as Saved<ResultByKind[typeof kind]>;
}

/** The most `fourtuple report` reads: a day-long max with a sample a second (86,400 samples, ~20 MiB) is well under it. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** A saved result's text, parsed: one JSON value, or a `--json-stream` file's result line. */
export interface ParsedSaved {
  value: unknown;
  /** set when the text is a stream that did not end cleanly: why, in words */
  cutShort?: string;
}

/**
 * Parses what `--json` or `--json-stream` wrote (a UTF-8 byte-order mark is skipped). A stream's
 * result is its last line `{"event":"result",...}`; a stream cut short (killed mid-line, or after
 * its result) gives its last complete result, with `cutShort` saying so. Returns undefined when
 * the text is neither.
 */
export function parseSaved(text: string): ParsedSaved | undefined {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { value: JSON.parse(t) };
  } catch {
    // not one JSON value: maybe a stream
  }
  const lines = t
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  let events = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    let v: unknown;
    try {
      v = JSON.parse(lines[i]!);
    } catch {
      if (i === lines.length - 1) continue; // the last line, cut mid-write
      return undefined;
    }
    if (typeof v !== 'object' || v === null || !('event' in v)) return undefined;
    events++;
    if (v.event !== 'result') continue;
    const { event: _event, ...value } = v;
    const cut = i !== lines.length - 1 || !t.endsWith('\n');
    return cut
      ? { value, cutShort: 'the saved stream ends after its last complete result' }
      : { value };
  }
  return events > 0
    ? { value: undefined, cutShort: 'the stream was cut short before its result' }
    : undefined;
}

/** The page's parts for one result, by its kind. */
export function toReportInput(result: AnyResult): ReportInput {
  switch (result.kind) {
    case 'theory':
      return { theory: result };
    case 'demo':
      return { experiments: result };
    case 'prove':
      return { proof: result };
    case 'limits':
      return { limits: result };
    case 'max':
      return { max: result };
    case 'merge':
      return { cluster: result };
    case 'tour': {
      const { theory, experiments, proof, limits, max, tls, machine, cutShort } = result;
      return {
        machine,
        ...(cutShort ? { cutShort: cutShort.reason } : {}),
        ...(theory ? { theory: [theory.seed, theory.ipv4] } : {}),
        ...(experiments ? { experiments } : {}),
        ...(proof ? { proof } : {}),
        ...(limits ? { limits } : {}),
        ...(max ? { max } : {}),
        ...(tls?.runs.length ? { tls: tls.runs } : {}),
        ...(tls?.skipped ? { tlsSkipped: tls.skipped } : {}),
      };
    }
  }
}
