/** The README lists every FOURTUPLE_* code the library raises, with the same meaning, and no other. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README's error table: | `FOURTUPLE_X` | meaning | */
const rows = new Map(
  [...readme.matchAll(/^\| `(FOURTUPLE_[A-Z_]+)` \| (.+?) \|$/gm)].map((m) => [m[1]!, m[2]!]),
);

describe('README error codes', () => {
  it('every code in ERROR_CODES is a row of the README table, with its meaning', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), code).toBe(meaning.replaceAll('|', '\\|'));
    }
  });

  it('every FOURTUPLE_* code the README names is in ERROR_CODES', () => {
    const named = new Set([...readme.matchAll(/FOURTUPLE_[A-Z_]*[A-Z]/g)].map((m) => m[0]));
    for (const code of named) expect(Object.keys(ERROR_CODES), code).toContain(code);
    expect(rows.size).toBe(Object.keys(ERROR_CODES).length);
  });
});
