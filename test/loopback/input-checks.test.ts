/**
 * Issue 18, item 11 (the parts outside src/scale): a --memory-floor above what is available and
 * --host-ns . or .. are refused up front; a non-root --hosts netns fails the same way for every
 * command (FOURTUPLE_NO_NETNS, exit 1); the listener logs each connection it turns away when out
 * of descriptors, with a running count.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BIN, cli } from '../helpers/cli.js';

describe('refused up front', () => {
  it('max --memory-floor above the memory available now: exit 2, nothing run', async () => {
    const r = await cli(['max', '--connections', '1000', '--memory-floor', '1000G']);
    expect(r.stderr).toMatch(
      /^fourtuple max: --memory-floor must be below the memory available now, [\d.]+ [MG]iB/,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it.each(['.', '..'])(
    '--host-ns %s is not a namespace name: exit 2 at validation',
    async (name) => {
      for (const argv of [
        ['connect', '--to', '127.0.0.1:9', '--host-ns', name],
        ['listen', '--port', '0', '--host-ns', name],
      ]) {
        const r = await cli(argv);
        expect(r.stderr).toContain(
          `--host-ns must be a network namespace name (letters, digits, . _ -; not . or ..) (got "${name}")`,
        );
        expect(r.code).toBe(2);
      }
    },
  );
});

describe('one exit code for --hosts netns without root', () => {
  it.each([
    ['prove', '--hosts', 'netns', '--machines', '2', '--ports', '2'],
    ['demo', '--hosts', 'netns'],
    ['hosts', 'up', '--machines', '2'],
  ])('%s: FOURTUPLE_NO_NETNS, exit 1', (...argv) => {
    // as root, run as nobody; otherwise as this user
    const asNobody =
      process.getuid?.() === 0
        ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
        : [];
    const [file, ...args] = [...asNobody, process.execPath, BIN, ...argv];
    const r = spawnSync(file!, args, { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toMatch(/^fourtuple \w+: error: network namespaces are not available: /);
    expect(r.status).toBe(1);
  });
});

describe('the listener out of descriptors', () => {
  it('logs each connection it turns away, with the count so far, in --json too', async () => {
    const child = spawn(
      'prlimit',
      [
        '--nofile=80:80',
        process.execPath,
        BIN,
        'listen',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const events: { event: string; local?: string; dropped?: number; open?: number }[] = [];
    let buf = '';
    const seen = new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) events.push(JSON.parse(l));
        if (events.filter((e) => e.event === 'drop').length >= 5) resolve();
      });
    });
    const socks: Socket[] = [];
    try {
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (events[0]?.event === 'listening') {
            clearInterval(t);
            resolve();
          }
        }, 20);
      });
      const port = Number(events[0]!.local!.split(':').pop());
      for (let i = 0; i < 60; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        socks.push(s);
      }
      await seen;
      const drops = events.filter((e) => e.event === 'drop');
      expect(drops[0]!.dropped).toBe(1);
      expect(drops.at(-1)!.dropped).toBe(drops.length);
      expect(drops[0]!.open).toBeGreaterThan(0);
      expect(events.filter((e) => e.event === 'accept').length).toBe(drops[0]!.open);
    } finally {
      for (const s of socks) s.destroy();
      child.kill('SIGTERM');
    }
  });
});
