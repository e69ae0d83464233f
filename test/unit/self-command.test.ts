/** Hints name a command that works as printed: `fourtuple` only when that name is this program. */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
// the built module (npm test builds first): its bin.js is the one a hint must name
const { selfCommand } = (await import(
  new URL('../../dist/cli/_output.js', import.meta.url).href
)) as typeof import('../../src/cli/_output.js');

describe('selfCommand', () => {
  it('is `fourtuple` when that name on PATH is this program (npm link)', () => {
    const linked = mkdtempSync(join(dir, 'linked-'));
    symlinkSync(BIN, join(linked, 'fourtuple'));
    expect(selfCommand({ PATH: `/nonexistent:${linked}` })).toBe('fourtuple');
  });

  it('is node and the absolute path otherwise, even when another `fourtuple` is on PATH', () => {
    const other = mkdtempSync(join(dir, 'other-'));
    writeFileSync(join(other, 'fourtuple'), '#!/bin/sh\necho someone else\n', { mode: 0o755 });
    expect(selfCommand({ PATH: other })).toBe(`${process.execPath} ${BIN}`);
    expect(selfCommand({ PATH: '' })).toBe(`${process.execPath} ${BIN}`);
  });
});
