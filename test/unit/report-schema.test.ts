/**
 * The report's input schema is derived from the library's result types (issue 18, item 10): the
 * committed src/report/schema.generated.ts must be what the types give now.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateResultSchemas } from '../helpers/result-schema.js';

const FILE = new URL('../../src/report/schema.generated.ts', import.meta.url);

function render(): string {
  return `/** Generated from ResultByKind (src/report/types.ts) by test/helpers/result-schema.ts: do not edit. */
import type { Schema } from './validate.js';

export const RESULT_SCHEMAS: Record<string, Schema> = ${JSON.stringify(generateResultSchemas())};
`;
}

describe('the result schema', () => {
  it('is up to date with the result types', () => {
    const text = render();
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(FILE, text);
    expect(readFileSync(FILE, 'utf8')).toBe(text);
  }, 60_000);
});
