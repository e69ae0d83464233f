/**
 * `report` on a saved result with one field changed (issue 18, item 10): it renders, or refuses
 * with exit 2 naming the field; never a TypeError. Each real result (theory, demo, prove,
 * limits, max) has every field, in turn, deleted or replaced by null, a string, a number, an
 * array and an object.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResult, renderReport, toReportInput } from '../../src/report/index.js';
import { ResultError } from '../../src/report/input.js';
import { cli } from '../helpers/cli.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path in `v` (arrays: their first two items only). */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v))
    return v.slice(0, 2).flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  }
  return [];
}

const REPLACEMENTS: (Json | undefined)[] = [undefined, null, 'x', 7, [], {}];

function mutated(v: Json, path: (string | number)[], to: Json | undefined): Json {
  const copy = structuredClone(v) as Record<string | number, Json>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (to === undefined) {
    if (Array.isArray(o)) o.splice(Number(last), 1);
    else delete o[last];
  } else o[last] = to;
  return copy as Json;
}

const RUNS: [string, string[]][] = [
  ['theory', ['theory', '--machines', '2', '--ports', '3', '--json']],
  ['demo', ['demo', 'same-4-tuple', 'self-connect', '--json']],
  ['prove', ['prove', '--machines', '2', '--ports', '2', '--json']],
  ['limits', ['limits', '--no-measure', '--json']],
  ['max', ['max', '--connections', '50', '--hold', '0s', '--json']],
];

describe('report on mutated results', () => {
  it.each(RUNS)(
    '%s: every single-field mutation renders or is refused naming the field',
    async (_kind, argv) => {
      const r = await cli(argv);
      const saved = JSON.parse(r.stdout) as Json;
      let rendered = 0;
      let refused = 0;
      const crashes: string[] = [];
      for (const path of paths(saved)) {
        for (const to of REPLACEMENTS) {
          const v = mutated(saved, path, to);
          try {
            renderReport(toReportInput(readResult(v, 'x')));
            rendered++;
          } catch (err) {
            if (err instanceof ResultError && err.code === 'FOURTUPLE_RESULT_INVALID') {
              expect(err.message).toMatch(/^x is not a valid \w+ result: \S+ (must be|is missing)/);
              refused++;
            } else if (err instanceof ResultError) refused++;
            else
              crashes.push(`${path.join('.')} = ${JSON.stringify(to)}: ${(err as Error).message}`);
          }
        }
      }
      expect(crashes.slice(0, 10)).toEqual([]);
      expect(refused).toBeGreaterThan(0);
      expect(rendered).toBeGreaterThan(0);
    },
    120_000,
  );

  it('the CLI names the field, exit 2', async () => {
    const r = await cli(['theory', '--machines', '2', '--ports', '3', '--json']);
    const v = JSON.parse(r.stdout);
    v.models = 'x';
    const dir = mkdtempSync(join(tmpdir(), 'fourtuple-mut-'));
    try {
      const file = join(dir, 't.json');
      writeFileSync(file, JSON.stringify(v));
      const rr = await cli(['report', file]);
      expect(rr.stderr).toMatch(/is not a valid theory result: models must be/);
      expect(rr.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
