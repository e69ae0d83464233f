/**
 * Destinations as a user names them (root: a private /etc/hosts needs a mount namespace, a lab
 * needs network namespaces).
 * - Issue 18, item 8: `localhost` that resolves to ::1 then 127.0.0.1 reaches a listener on
 *   127.0.0.1 only: connect tries every address, max picks the one that accepts.
 * - Issue 19, item 4: a process already inside a lab machine (`ip netns exec`) may target that
 *   lab's hosts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { destroyLab, type LabInfo } from '../../src/hosts/index.js';
import { BIN, cliProcess } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-targets-'));
const HOSTS = join(dir, 'hosts');
writeFileSync(HOSTS, '::1 localhost\n127.0.0.1 localhost\n');

const created = new Set<string>();
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  for (const id of created) await destroyLab(id).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The CLI in a mount namespace of its own whose /etc/hosts says `::1 localhost` first (run
 * asynchronously: the echo server is in this process).
 */
function withHosts(
  argv: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `mount --bind "$0" /etc/hosts && exec "$@"`;
  const args = ['-m', 'sh', '-c', script, HOSTS, process.execPath, BIN, ...argv];
  return new Promise((resolve) => {
    const c = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => {
      stdout += d;
    });
    c.stderr.on('data', (d) => {
      stderr += d;
    });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An echo server on 127.0.0.1 only (nothing on ::1). */
async function echoOn127(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {}); // max and connect end with an RST
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { server, port: addr.port };
}

describeNetns('destinations as named', () => {
  it('connect --to localhost:P tries ::1, then 127.0.0.1, where the listener is', async () => {
    const { server, port } = await echoOn127();
    try {
      const r = await withHosts([
        'connect',
        '--to',
        `localhost:${port}`,
        '--count',
        '1',
        '--interval',
        '10ms',
      ]);
      expect(r.stdout).toContain(`[::1]:${port}: ECONNREFUSED, trying the next address`);
      expect(r.stdout).toMatch(
        new RegExp(`connected 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port}`),
      );
      expect(r.stdout).toContain('Dub hi');
      expect(r.code, r.stderr).toBe(0);
    } finally {
      server.close();
    }
  });

  it('max --target localhost:P takes the address that accepts (127.0.0.1)', async () => {
    const { server, port } = await echoOn127();
    try {
      const r = await withHosts([
        'max',
        '--target',
        `localhost:${port}`,
        '--connections',
        '20',
        '--hold',
        '0s',
        '--json',
      ]);
      // (the plain echo server does not answer max's check, so the run itself exits 1: what
      // matters here is where the connections went)
      const result = JSON.parse(r.stdout);
      expect(result.targets).toEqual([`127.0.0.1:${port}`]);
      expect(result.established).toBe(20);
    } finally {
      server.close();
    }
  });

  it('inside a lab machine (ip netns exec), connect reaches a host of that lab', async () => {
    const up = cliProcess(['hosts', 'up', '--machines', '2', '--json']);
    expect(up.code, up.stderr).toBe(0);
    const lab = JSON.parse(up.stdout) as LabInfo;
    created.add(lab.runId);
    const [m0, m1] = [lab.machines[0]!, lab.machines[1]!];
    const listener = spawn(
      'ip',
      [
        'netns',
        'exec',
        m1.netns!,
        process.execPath,
        BIN,
        'listen',
        '--host',
        m1.address,
        '--port',
        '7000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(listener);
    await new Promise<void>((resolve) => listener.stdout!.once('data', () => resolve()));
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        m0.netns!,
        process.execPath,
        BIN,
        'connect',
        '--to',
        `${m1.address}:7000`,
        '--count',
        '1',
        '--interval',
        '10ms',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`connected ${m0.address}:`);
    expect(r.status).toBe(0);
    // from the root namespace the same address is still refused: there it would leave the machine
    const root = cliProcess(['connect', '--to', `${m1.address}:7000`, '--count', '1']);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('refused');
  });
});
