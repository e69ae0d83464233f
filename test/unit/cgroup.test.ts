/**
 * The memory cgroup of *this process*, v1 or v2: parsed from copies of /proc and /sys laid out as
 * a container sees them, and read for real inside a v1 memory cgroup the test creates (root only).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCgroupMount, parseProcCgroup, readOwnCgroupMemory } from '../../src/limits/cgroup.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-cgroup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a fake root: files by path relative to it. */
function fakeRoot(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const V1_MOUNTINFO =
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n' +
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n' +
  '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n';
const V2_MOUNTINFO = '40 30 0:37 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n';
const NO_LIMIT_V1 = '9223372036854771712\n';

describe('the memory cgroup of this process', () => {
  it('finds the memory controller in /proc/self/cgroup, v1 before v2', () => {
    expect(parseProcCgroup('5:devices:/\n4:memory:/pod/c1\n0::/\n')).toEqual({
      version: 1,
      path: '/pod/c1',
    });
    expect(parseProcCgroup('0::/kubepods/pod9/c2\n')).toEqual({
      version: 2,
      path: '/kubepods/pod9/c2',
    });
    expect(parseProcCgroup('1:cpu:/\n')).toBeUndefined();
  });

  it('finds the mount of the memory hierarchy (v1) or of cgroup2', () => {
    expect(parseCgroupMount(V1_MOUNTINFO, 1)).toEqual({
      root: '/',
      point: '/sys/fs/cgroup/memory',
    });
    expect(parseCgroupMount(V1_MOUNTINFO, 2)).toBeUndefined();
    expect(parseCgroupMount(V2_MOUNTINFO, 2)).toEqual({ root: '/', point: '/sys/fs/cgroup' });
  });

  it('v1: the own cgroup binds, not the unlimited top level', () => {
    const root = fakeRoot('v1', {
      'proc/self/cgroup': '4:memory:/pod/c1\n0::/\n',
      'proc/self/mountinfo': V1_MOUNTINFO,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': NO_LIMIT_V1,
      'sys/fs/cgroup/memory/memory.usage_in_bytes': '9000000000\n',
      'sys/fs/cgroup/memory/pod/memory.limit_in_bytes': NO_LIMIT_V1,
      'sys/fs/cgroup/memory/pod/memory.usage_in_bytes': '500000000\n',
      'sys/fs/cgroup/memory/pod/c1/memory.limit_in_bytes': '805306368\n',
      'sys/fs/cgroup/memory/pod/c1/memory.usage_in_bytes': '205306368\n',
    });
    const m = readOwnCgroupMemory(root);
    expect(m).toMatchObject({
      version: 1,
      cgroup: '/pod/c1',
      limitBytes: 805306368,
      usageBytes: 205306368,
      availableBytes: 600_000_000,
    });
    expect(m?.dir).toBe(`${root}/sys/fs/cgroup/memory/pod/c1`);
  });

  it('v2: an ancestor with less headroom binds; the root cgroup has no memory.max', () => {
    const root = fakeRoot('v2', {
      'proc/self/cgroup': '0::/kubepods/pod9/c2\n',
      'proc/self/mountinfo': V2_MOUNTINFO,
      'sys/fs/cgroup/memory.current': '1\n',
      'sys/fs/cgroup/kubepods/memory.max': 'max\n',
      'sys/fs/cgroup/kubepods/memory.current': '1\n',
      'sys/fs/cgroup/kubepods/pod9/memory.max': '1000000000\n',
      'sys/fs/cgroup/kubepods/pod9/memory.current': '900000000\n',
      'sys/fs/cgroup/kubepods/pod9/c2/memory.max': 'max\n',
      'sys/fs/cgroup/kubepods/pod9/c2/memory.current': '800000000\n',
    });
    expect(readOwnCgroupMemory(root)).toMatchObject({
      version: 2,
      limitBytes: 1_000_000_000,
      availableBytes: 100_000_000,
      dir: `${root}/sys/fs/cgroup/kubepods/pod9`,
    });
  });

  it('v2 with a cgroup namespace: the mount root is the own cgroup; unlimited says so', () => {
    const root = fakeRoot('v2ns', {
      'proc/self/cgroup': '0::/\n',
      'proc/self/mountinfo': V2_MOUNTINFO,
      'sys/fs/cgroup/memory.max': 'max\n',
      'sys/fs/cgroup/memory.current': '4096\n',
    });
    expect(readOwnCgroupMemory(root)).toMatchObject({
      version: 2,
      limitBytes: 'unlimited',
      usageBytes: 4096,
      availableBytes: undefined,
    });
  });

  const own = readOwnCgroupMemory();
  it.skipIf(process.getuid?.() !== 0 || own?.version !== 1)(
    'read for real inside a 300 MiB v1 memory cgroup the test creates below its own',
    () => {
      // below the process's own cgroup (its mount is /sys/fs/cgroup/memory on this machine)
      const mine = join('/sys/fs/cgroup/memory', own!.cgroup, `fourtuple-test-${process.pid}`);
      mkdirSync(mine);
      try {
        writeFileSync(join(mine, 'memory.limit_in_bytes'), String(300 * 1024 * 1024));
        const url = new URL('../../dist/limits/cgroup.js', import.meta.url).href;
        const r = spawnSync(
          'sh',
          [
            '-c',
            `echo $$ > ${mine}/cgroup.procs && exec "${process.execPath}" --input-type=module -e "const m = await import('${url}'); console.log(JSON.stringify(m.readOwnCgroupMemory()))"`,
          ],
          { encoding: 'utf8' },
        );
        expect(r.stderr).toBe('');
        const m = JSON.parse(r.stdout);
        expect(m.limitBytes).toBe(300 * 1024 * 1024);
        expect(m.cgroup).toBe(`${own!.cgroup.replace(/\/$/, '')}/fourtuple-test-${process.pid}`);
        expect(m.usageBytes).toBeGreaterThan(0);
        expect(m.availableBytes).toBe(m.limitBytes - m.usageBytes);
      } finally {
        rmdirSync(mine);
      }
    },
  );

  it.skipIf(process.getuid?.() !== 0 || own?.version !== 1)(
    '`fourtuple limits` inside a 768 MiB cgroup takes its memory from that cgroup, not the machine',
    () => {
      const mine = join('/sys/fs/cgroup/memory', own!.cgroup, `fourtuple-limits-${process.pid}`);
      mkdirSync(mine);
      try {
        writeFileSync(join(mine, 'memory.limit_in_bytes'), String(768 * 1024 * 1024));
        const bin = new URL('../../dist/cli/bin.js', import.meta.url).pathname;
        const r = spawnSync(
          'sh',
          [
            '-c',
            `echo $$ > ${mine}/cgroup.procs && exec "${process.execPath}" ${bin} limits --no-measure --json`,
          ],
          { encoding: 'utf8' },
        );
        expect(r.status).toBe(0);
        const j = JSON.parse(r.stdout);
        const memory = j.limits.find((l: { name: string }) => l.name === 'memory');
        expect(memory.value).toMatch(/MiB free for sockets \(cgroup limit\)/);
        // the ceiling of a 768 MiB cgroup is below 768 MiB / 8 KiB per connection
        expect(Number(memory.ceiling)).toBeLessThan((768 * 1024 * 1024) / 8192);
      } finally {
        rmdirSync(mine);
      }
    },
  );
});
