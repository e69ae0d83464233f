/**
 * A read-only destination directory is refused before the run (issue 18, item 2). Root ignores
 * permission bits, so the directory is made read-only the way a root process meets one: a
 * read-only bind mount, in a mount namespace of the CLI's own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-ro-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeNetns('files on a read-only file system', () => {
  it('--report into a read-only directory: exit 2, EROFS, the flag named, nothing printed', () => {
    const script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"';
    const argv = ['theory', '--machines', '2', '--ports', '3', '--report', join(dir, 'x.html')];
    const r = spawnSync(
      'unshare',
      ['-m', 'sh', '-c', script, dir, process.execPath, BIN, ...argv],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.stderr).toMatch(/^fourtuple theory: --report cannot write .*EROFS/);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });
});
