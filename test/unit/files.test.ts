/**
 * Pages and graphs are written atomically and never through a planted link: checked on the real
 * file system (a scratch directory, and a 64 KiB tmpfs for a full disk when run as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
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
import { afterAll, describe, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors.js';
import { reserveFile, writeFileAtomic } from '../../src/files.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scratch(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SyscallError);
    return (err as SyscallError).code;
  }
  return undefined;
}

describe('atomic file writes', () => {
  it('writes the content and leaves no temporary file beside it', () => {
    const d = scratch('plain');
    const path = writeFileAtomic(join(d, 'page.html'), '<html>one</html>');
    expect(readFileSync(path, 'utf8')).toBe('<html>one</html>');
    expect(readdirSync(d)).toEqual(['page.html']);
  });

  it('replaces a symlink planted at the destination instead of writing through it', () => {
    const d = scratch('link');
    const victim = join(d, 'victim');
    writeFileSync(victim, 'secret', { mode: 0o600 });
    symlinkSync(victim, join(d, 'page.html'));
    writeFileAtomic(join(d, 'page.html'), 'new page');
    expect(readFileSync(victim, 'utf8')).toBe('secret');
    expect(lstatSync(join(d, 'page.html')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(d, 'page.html'), 'utf8')).toBe('new page');
  });

  it('refuses a directory or a missing directory before any work, creating nothing', () => {
    const d = scratch('refuse');
    mkdirSync(join(d, 'adir.html'));
    expect(codeOf(() => reserveFile(join(d, 'adir.html')))).toBe('EISDIR');
    expect(codeOf(() => reserveFile(join(d, 'nope', 'x.html')))).toBe('ENOENT');
    expect(readdirSync(d)).toEqual(['adir.html']);
  });

  it('discard keeps the old page and removes the temporary file', () => {
    const d = scratch('discard');
    writeFileSync(join(d, 'page.html'), 'old');
    const r = reserveFile(join(d, 'page.html'));
    expect(readdirSync(d)).toHaveLength(2);
    r.discard();
    expect(readdirSync(d)).toEqual(['page.html']);
    expect(readFileSync(join(d, 'page.html'), 'utf8')).toBe('old');
  });

  it('a process that exits without writing leaves no temporary file', () => {
    const d = scratch('exit');
    // the built module (npm test builds first), in a process of its own
    const url = new URL('../../dist/files.js', import.meta.url).href;
    const script = [
      `import { readdirSync } from 'node:fs';`,
      `const m = await import(${JSON.stringify(url)});`,
      `m.reserveFile(${JSON.stringify(join(d, 'p.html'))});`,
      `console.log(readdirSync(${JSON.stringify(d)}).length);`,
      'process.exit(3);',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout.trim()).toBe('1'); // the temporary file existed while the process ran
    expect(readdirSync(d)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'on a full disk the old page stays whole, the temporary file is removed, and the error is ENOSPC',
    () => {
      const d = scratch('full');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'fourtuple-test', d]);
      try {
        writeFileSync(join(d, 'page.html'), 'old page');
        expect(codeOf(() => writeFileAtomic(join(d, 'page.html'), 'x'.repeat(256 * 1024)))).toBe(
          'ENOSPC',
        );
        expect(readFileSync(join(d, 'page.html'), 'utf8')).toBe('old page');
        expect(readdirSync(d)).toEqual(['page.html']);
      } finally {
        execFileSync('umount', [d]);
      }
    },
  );
});
