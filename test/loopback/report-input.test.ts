/**
 * `fourtuple report` reads what it is given without trusting it (issue 18, item 10): a bounded
 * read, a UTF-8 BOM, a `--json-stream` file cut short, a very long series.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-report-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let stream = '';
beforeAll(async () => {
  const r = await cli(['max', '--connections', '200', '--hold', '0s', '--json-stream']);
  expect(r.code).toBe(0);
  stream = r.stdout;
}, 60_000);

function save(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function report(file: string) {
  const out = `${file}.html`;
  const r = await cli(['report', file, '--out', out]);
  return { ...r, page: r.code === 0 ? readFileSync(out, 'utf8') : '' };
}

describe('report input', () => {
  it('accepts a UTF-8 byte-order mark', async () => {
    const theory = (await cli(['theory', '--machines', '2', '--ports', '3', '--json'])).stdout;
    const r = await report(save('bom.json', `\uFEFF${theory}`));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('reads a bounded amount: /dev/zero is refused (exit 2), not read until memory runs out', async () => {
    const r = await cli(['report', '/dev/zero', '--out', join(dir, 'zero.html')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is larger than 64.0 MiB/);
  });

  it('a stream cut short after its result renders that result, saying it was cut short', async () => {
    const lines = stream.trim().split('\n');
    const cut = `${stream}{"event":"progress","t":1`; // killed mid-line after the result
    const r = await report(save('cut.jsonl', cut));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.page).toContain(
      'Cut short:</strong> the saved stream ends after its last complete result',
    );
    expect(r.page).toContain('id="practice"');
    // a stream killed before its result: nothing to render, said so (exit 2)
    const early = `${lines.slice(0, -1).join('\n')}\n{"event":"prog`;
    const e = await report(save('early.jsonl', early));
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/has no result: the stream was cut short before its result/);
  });

  it('a series of 123,520 samples renders (no stack overflow)', async () => {
    const lines = stream.trim().split('\n');
    const { event: _e, ...result } = JSON.parse(lines.at(-1)!);
    const last = result.series.at(-1);
    const series = Array.from({ length: 123_520 }, (_, i) => ({ ...last, t: i * 1000 }));
    const r = await report(save('long.json', JSON.stringify({ ...result, series })));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
