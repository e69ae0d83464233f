/**
 * Issue 18, items 1 and 2: every file the CLI writes is reserved before the run (a directory, a
 * missing directory is refused up front, exit 2, the flag named), written atomically without
 * following a planted link, and only after the result is on stdout, so a failed write never
 * loses a run. Issue 19, item 10: an interrupted tour writes the page of what completed.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/errors.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROVE = ['prove', '--machines', '2', '--ports', '3'];
const THEORY = ['theory', '--machines', '2', '--ports', '3'];
const SAVED = join(dir, 'saved.json');
beforeAll(async () => writeFileSync(SAVED, (await cli([...THEORY, '--json'])).stdout));

describe('files are checked before the run', () => {
  it.each([
    ['prove --report DIR', [...PROVE, '--report'], 'report', 'EISDIR', true],
    ['theory --report DIR', [...THEORY, '--report'], 'report', 'EISDIR', true],
    ['prove --graph DIR.svg', [...PROVE, '--graph'], 'graph', 'EISDIR', true],
    ['prove --graph missing/g.svg', [...PROVE, '--graph'], 'graph', 'ENOENT', false],
    ['tour --out missing/x.html', ['tour', '--out'], 'out', 'ENOENT', false],
    ['report --out DIR', ['report', SAVED, '--out'], 'out', 'EISDIR', true],
  ])(
    '%s is refused up front: exit 2, the flag named, nothing run',
    async (name, argv, flag, errno, isDir) => {
      const target = isDir
        ? join(dir, `${name.replace(/\W+/g, '-')}.${flag === 'graph' ? 'svg' : 'html'}`)
        : join(dir, 'missing', flag === 'graph' ? 'g.svg' : 'x.html');
      if (isDir) mkdirSync(target);
      const r = await cli([...argv, target]);
      expect(r.stderr).toMatch(new RegExp(`^fourtuple \\w+: --${flag} cannot write .*${errno}`));
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
    },
  );
});

describe('files are written after the result is printed, atomically', () => {
  it('a write that fails after the run keeps the result on stdout (exit 1, the path named)', async () => {
    const file = join(dir, 'late.html');
    // the reservation is made synchronously, before the proof starts; then the destination
    // becomes a directory, so the final rename fails
    const run = cli([...PROVE, '--json', '--report', file]);
    mkdirSync(file);
    const r = await run;
    expect(JSON.parse(r.stdout).verdict).toBe('exact');
    expect(r.stderr).toMatch(/^fourtuple prove: error: rename EISDIR .*late\.html/);
    expect(r.code).toBe(1);
    expect(readdirSync(dir).filter((f) => f.includes('late.html.'))).toEqual([]);
  });

  it('a run that fails after reserving its page leaves no temporary file, in a process that goes on', async () => {
    const file = join(dir, 'failed.html');
    const r = await cli(['theory', '--internet', '--machines', '2', '--report', file]);
    expect(r.code).toBe(2);
    expect(readdirSync(dir).filter((f) => f.includes('failed.html'))).toEqual([]);
  });

  it('a planted link at the destination is replaced, never followed', async () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const link = join(dir, 'linked.svg');
    symlinkSync(victim, link);
    const r = await cli([...PROVE, '--graph', link]);
    expect(r.code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(readFileSync(link, 'utf8')).toContain('<svg');
    expect(r.stdout).toMatch(/graph: .*linked\.svg/);
  });

  it('an interrupted tour writes the page of what completed, marked as cut short', async () => {
    const file = join(dir, 'cut.html');
    const ac = new AbortController();
    const run = cli(['tour', '--skip', 'demo,prove,max', '--out', file], ac.signal);
    setTimeout(() => ac.abort(new InterruptedError('SIGINT')), 300);
    const r = await run;
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('fourtuple tour: interrupted\n');
    expect(r.stdout).toContain("== theory: the seed's example ==");
    expect(r.stdout).toContain('Cut short: interrupted by SIGINT during limits.');
    expect(r.stdout).toContain(`report: ${file}`);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('Cut short:</strong> interrupted by SIGINT during limits');
    expect(page).toContain('id="theory"');
    expect(existsSync(file)).toBe(true);
  });
});
