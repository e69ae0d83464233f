/** `--report FILE.html` on every command that produces a result: the same page, one part. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-report-flag-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--report FILE.html', () => {
  it.each([
    ['theory', ['theory', '--machines', '2', '--ports', '3', '--json'], 'theory'],
    ['demo', ['demo', 'same-4-tuple', 'self-connect', '--json'], 'experiments'],
    ['prove', ['prove', '--machines', '2', '--ports', '3', '--json'], 'proof'],
    ['limits', ['limits', '--no-measure', '--json'], 'machine'],
    ['max', ['max', '--connections', '300', '--hold', '0s', '--json'], 'practice'],
  ])(
    '%s writes the page with its section; stdout keeps the JSON, the path goes to stderr',
    async (name, argv, section) => {
      const file = join(dir, `${name}.html`);
      const r = await cli([...argv, '--report', file]);
      expect(r.code).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
      expect(r.stderr).toBe(`report: ${file}\n`);
      const page = readFileSync(file, 'utf8');
      expect(page).toContain(`id="${section}"`);
      expect(page).toContain('id="machine"');
      if (name === 'prove') expect(page).toContain('21 connections drawn from the result');
    },
  );

  it('fourtuple report reads max --json-stream output (the result is its last line)', async () => {
    const r = await cli(['max', '--connections', '300', '--hold', '0s', '--json-stream']);
    expect(r.code).toBe(0);
    const saved = join(dir, 'stream.jsonl');
    writeFileSync(saved, r.stdout);
    const page = join(dir, 'stream.html');
    const rr = await cli(['report', saved, '-o', page]);
    expect(rr.stderr).toBe('');
    expect(rr.code).toBe(0);
    expect(readFileSync(page, 'utf8')).toContain('id="practice"');
  });

  it('a path in a missing directory is refused before anything runs (exit 2)', async () => {
    const file = join(dir, 'no', 'such', 'dir', 'p.html');
    const r = await cli(['prove', '--machines', '2', '--ports', '3', '--report', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^fourtuple prove: --report cannot write .*ENOENT/);
    expect(existsSync(file)).toBe(false);
  });
});
