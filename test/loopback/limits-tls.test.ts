/**
 * `limits --tls` against the real kernel on loopback: a short TLS run (and its plain-TCP
 * baseline) measures the costs, and the walls printed are the arithmetic of those costs, read
 * back from the same JSON: CPU wall = cores x 1e6 / server us per handshake, the time to open N at
 * it, the memory wall = memory free for sockets / bytes per connection. `fourtuple report` reads
 * the saved result and draws the "with TLS" section with those numbers. Bad flags exit 2; an
 * interrupt during the TLS run exits 130 with no walls and no worker left.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatLimitsTls } from '../../src/cli/limits.js';
import type { LimitsResult } from '../../src/limits/index.js';
import type { Saved } from '../../src/report/types.js';
import { formatBytes } from '../../src/units.js';
import { killAll, spawnCli } from '../helpers/child.js';
import { cli } from '../helpers/cli.js';
import { sleep, tlsWorkersLeft } from '../helpers/procs.js';
import { EXIT_BOUND_MS, interrupt } from '../helpers/signals.js';

const group = (n: number): string => n.toLocaleString('en-US');

describe('limits --tls refuses bad input (exit 2, one line naming the flag)', () => {
  const refused = async (args: string[], flag: string): Promise<void> => {
    const out = await cli(['limits', ...args]);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toContain(`--${flag}`);
  };
  it('--tls-connections without --tls', () =>
    refused(['--tls-connections', '500'], 'tls-connections'));
  it('--cert without --tls', () => refused(['--cert', 'rsa2048'], 'cert'));
  it('--tls-connections below 100', () =>
    refused(['--tls', '--tls-connections', '50'], 'tls-connections'));
  it('--tls-connections above 5000', () =>
    refused(['--tls', '--tls-connections', '5001'], 'tls-connections'));
  it('--no-measure with --tls', () => refused(['--tls', '--no-measure'], 'no-measure'));
});

describe('limits --tls interrupted', () => {
  afterEach(killAll);

  it('SIGINT during the TLS run: exit 130 within the bound, no result, no worker left', async () => {
    const child = spawnCli([
      'limits',
      '--tls',
      '--tls-connections',
      '3000',
      '--connections',
      '100',
      '--json',
    ]);
    // the TLS run's workers (a server and a client) are up
    const deadline = Date.now() + 30_000;
    while (tlsWorkersLeft().length < 2 && Date.now() < deadline) await sleep(50);
    expect(tlsWorkersLeft().length).toBeGreaterThanOrEqual(2);
    await sleep(300);
    const r = await interrupt(child, 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.ms).toBeLessThan(EXIT_BOUND_MS);
    // no walls from a run cut short
    expect(child.lines).toEqual([]);
    expect(child.stderr()).toMatch(/interrupted/);
    await sleep(500);
    expect(tlsWorkersLeft()).toEqual([]);
  }, 60_000);
});

describe('limits --tls on loopback (200 TLS connections, 200 plain)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-limits-tls-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let r: Saved<LimitsResult>;

  it('the walls are the arithmetic of the costs measured in the same run', async () => {
    const out = await cli([
      'limits',
      '--tls',
      '--tls-connections',
      '200',
      '--connections',
      '200',
      '--json',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    r = JSON.parse(out.stdout) as Saved<LimitsResult>;
    expect(r.kind).toBe('limits');
    const t = r.tls!;
    expect(t.measured.connections).toBe(200);
    expect(t.measured.established).toBe(200);
    expect(t.measured.protocol).toBe('TLSv1.3');
    expect(t.measured.cert).toBe('ecdsa');
    for (const f of [t.tls, t.tcp]) {
      expect(f.serverUsPerHandshake).toBeGreaterThan(0);
      expect(f.cpuWall.handshakesPerSec).toBe(Math.round((t.cores * 1e6) / f.serverUsPerHandshake));
      expect(f.cpuWall.secondsToOpen).toBe(
        Math.round((t.open / f.cpuWall.handshakesPerSec) * 10) / 10,
      );
      // both ends on this machine (the default shape): both processes' memory and the kernel's
      expect(f.bytesPerConnection).toBe(
        f.serverBytesPerConnection + f.clientBytesPerConnection + f.kernelBytesPerConnection,
      );
      expect(f.memoryWall).toBe(Math.floor(t.memoryBytes / f.bytesPerConnection));
    }
    // a TLS handshake costs the server more CPU than a plain accept (measured 5-10x)
    expect(t.tls.serverUsPerHandshake).toBeGreaterThan(t.tcp.serverUsPerHandshake);
    expect(t.tls.cpuWall.handshakesPerSec).toBeLessThan(t.tcp.cpuWall.handshakesPerSec);
    // N: the machine's plain estimate, or the TLS memory wall when that is lower
    expect(t.open).toBe(Math.min(Number(r.machine.estimate), t.tls.memoryWall));
    // the memory budget is the one the memory limit divides (its ceiling from the same bytes)
    const memory = r.limits.find((l) => l.name === 'memory')!;
    expect(Number(memory.ceiling)).toBe(Math.floor(t.memoryBytes / r.perConnection.totalBytes));
  }, 240_000);

  it('prints the walls with TLS beside plain TCP', () => {
    const text = formatLimitsTls(r.tls!);
    const t = r.tls!;
    expect(text).toContain('With TLS:');
    expect(text).toContain(`${group(t.tls.cpuWall.handshakesPerSec)}/s`);
    expect(text).toContain(`${group(t.tcp.cpuWall.handshakesPerSec)}/s`);
    expect(text).toContain(
      `${group(t.tls.memoryWall)} (${formatBytes(t.tls.bytesPerConnection)} each)`,
    );
    expect(text).toContain(`time to open ${group(t.open)} at the CPU wall`);
  });

  it('fourtuple report draws the "with TLS" section from the saved result', async () => {
    const json = join(dir, 'limits.json');
    const html = join(dir, 'limits.html');
    writeFileSync(json, JSON.stringify(r));
    const out = await cli(['report', json, '--out', html]);
    expect(out.code).toBe(0);
    const page = readFileSync(html, 'utf8');
    // the glance card at the top: the server's CPU per TLS handshake, against a plain accept
    const head = page.slice(0, page.indexOf('<main'));
    const times = (r.tls!.tls.serverUsPerHandshake / r.tls!.tcp.serverUsPerHandshake).toFixed(1);
    expect(head).toContain(`${group(r.tls!.tls.serverUsPerHandshake)} us`);
    expect(head).toContain(`of server CPU (${times}x a plain accept)`);
    const section = page.slice(page.indexOf('<section class="part" id="tls"'));
    expect(section).toContain('With TLS');
    const t = r.tls!;
    for (const us of [
      t.tls.serverUsPerHandshake,
      t.tls.clientUsPerHandshake,
      t.tcp.serverUsPerHandshake,
    ]) {
      expect(section).toContain(`${group(us)} us`);
    }
    expect(section).toContain(formatBytes(t.tls.serverBytesPerConnection));
    expect(section).toContain(`${group(t.tls.cpuWall.handshakesPerSec)}/s`);
    expect(section).toContain(group(t.tls.memoryWall));
    // two charts: CPU per handshake and memory per connection
    expect(section.match(/<canvas id="chart-tls-(cpu|mem)-\d+"/g)).toHaveLength(2);
  });
});
