/**
 * `max --tls` against the real kernel on loopback, both ends ours: a few hundred TLS connections
 * handshaken, held, checked with an encrypted echo and closed, for both certificate kinds and
 * with resumption; the source ports the raw layer bound are the ones the servers saw; bad
 * certificate input and old TLS versions are refused (exit 2); a target that speaks plain TCP is
 * an error naming the handshake failure (exit 1). No certificate directory is left behind.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaxResult } from '../../src/scale/coordinator.js';
import { BIN, cli } from '../helpers/cli.js';
import { sleep, tlsWorkersLeft as workersLeft } from '../helpers/procs.js';
import { EXIT_BOUND_MS } from '../helpers/signals.js';

const certDirs = (): string[] =>
  readdirSync(tmpdir()).filter((d) => d.startsWith('fourtuple-tls-'));

async function maxTls(args: string[]): Promise<{ code: number; r: MaxResult; stderr: string }> {
  const out = await cli(['max', '--tls', '--hold', '0', '--json', ...args]);
  return { code: out.code, r: JSON.parse(out.stdout) as MaxResult, stderr: out.stderr };
}

/** A run held and verified whole: every connection echoed, the same ports on both sides. */
function expectWhole(r: MaxResult, n: number): void {
  expect(r.stoppedBy.reason).toBe('target');
  expect(r.established).toBe(n);
  expect(r.alive).toBe(n);
  expect(r.dead + r.unverified).toBe(0);
  expect(r.sockstat.clean).toBe(true);
  expect(r.tls?.ports).toEqual({ checked: n, match: true });
  expect(r.tls?.openssl).toBe(process.versions.openssl);
  expect(r.tls?.run.server.cpuUsPerHandshake).toBeGreaterThan(0);
  expect(r.tls?.run.client.cpuUsPerHandshake).toBeGreaterThan(0);
}

describe('max --tls on loopback', () => {
  const before = certDirs();
  afterAll(() => {
    expect(certDirs()).toEqual(before);
    expect(workersLeft()).toEqual([]);
  });

  it('ecdsa, TLS 1.3: 300 connections handshaken, held, echoed and closed, beside a plain-TCP baseline', async () => {
    const { code, r } = await maxTls(['--connections', '300']);
    expect(code).toBe(0);
    expectWhole(r, 300);
    const t = r.tls!;
    expect(t.key).toBe('ECDSA P-256');
    expect(t.negotiated.protocol).toBe('TLSv1.3');
    expect(t.negotiated.group).not.toBe('');
    expect(t.baseline?.alive).toBe(300);
    expect(t.baseline?.protocol).toBe('tcp');
    // TLS costs each side more CPU than a plain connect (measured 5-10x, a busy machine)
    expect(t.run.server.cpuUsPerHandshake).toBeGreaterThan(t.baseline!.server.cpuUsPerHandshake);
    expect(t.walls.cpu.server.handshakesPerSec).toBeGreaterThan(0);
    // the floor: the public-key operations alone, below what a whole handshake costs
    expect(t.floor.serverUs).toBeGreaterThan(0);
    expect(t.floor.serverUs).toBeLessThan(t.run.server.cpuUsPerHandshake);
    expect(t.floor.serverTimes).toBeGreaterThan(1);
  }, 120_000);

  it('rsa2048, TLS 1.2: 200 connections held and echoed, ports as the servers saw them', async () => {
    const { code, r } = await maxTls([
      '--connections',
      '200',
      '--cert',
      'rsa2048',
      '--tls-version',
      '1.2',
      '--no-baseline',
    ]);
    expect(code).toBe(0);
    expectWhole(r, 200);
    expect(r.tls?.key).toBe('RSA 2048');
    expect(r.tls?.negotiated.protocol).toBe('TLSv1.2');
    expect(r.tls?.baseline).toBeUndefined();
  }, 120_000);

  it('--resume: more than 90% of the handshakes resume the first one’s session', async () => {
    const { code, r } = await maxTls(['--connections', '200', '--resume', '--no-baseline']);
    expect(code).toBe(0);
    expectWhole(r, 200);
    expect(r.tls?.run.resumedShare).toBeGreaterThan(0.9);
  }, 120_000);

  it('SIGTERM during the ramp: exit 143 within 5 s, the partial result printed, no worker left', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'max', '--tls', '-n', '5000', '--no-baseline', '--hold', '0', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    // both sides up and ramping: the clients are the second pair of workers
    const deadline = Date.now() + 30_000;
    while (workersLeft().length < 2 && Date.now() < deadline) await sleep(50);
    await sleep(1500);
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(Date.now() - t0).toBeLessThan(EXIT_BOUND_MS);
    const r = JSON.parse(out) as MaxResult;
    expect(r.stoppedBy.reason).toBe('interrupted');
    expect(r.established).toBeLessThan(5000);
    expect(r.alive + r.dead + r.unverified).toBe(r.established);
    await sleep(500);
    expect(workersLeft()).toEqual([]);
  }, 60_000);

  it('a target that speaks plain TCP: exit 1, the handshake failure named', async () => {
    const server = net.createServer((c) => {
      c.on('error', () => {});
      c.pipe(c);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const out = await cli([
        'max',
        '--tls',
        '--target',
        `127.0.0.1:${port}`,
        '-n',
        '5',
        '--hold',
        '0',
      ]);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ failed: .*\(ERR_SSL_/);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      server.close();
    }
  }, 60_000);
});

describe('max --tls refuses bad input (exit 2, one line naming the flag)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ft-tls-test-'));
    for (const k of ['a', 'b']) {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
          .concat(['-keyout', join(dir, `${k}.key`), '-out', join(dir, `${k}.crt`)])
          .concat(['-days', '1', '-subj', '/CN=localhost']),
        { stdio: 'ignore' },
      );
    }
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    writeFileSync(join(dir, 'mismatch.pem'), read('a.crt') + read('b.key'));
    writeFileSync(join(dir, 'nokey.pem'), read('a.crt'));
    // a certificate with lines of its body cut out: well framed, not DER
    const cut = read('a.crt').split('\n');
    cut.splice(2, 3);
    writeFileSync(join(dir, 'garbage.pem'), cut.join('\n') + read('a.key'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const refused = async (args: string[], pattern: RegExp): Promise<void> => {
    const out = await cli(['max', '--tls', '-n', '10', ...args]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(pattern);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  };

  it('a missing certificate file', () =>
    refused(['--cert', join(dir, 'none.pem')], /--cert .*none\.pem: cannot read it \(ENOENT\)/));
  it('a file without a private key', () =>
    refused(
      ['--cert', join(dir, 'nokey.pem')],
      /--cert .*: expected a PEM file .*\(found no key\)/,
    ));
  it('a malformed certificate', () =>
    refused(['--cert', join(dir, 'garbage.pem')], /--cert .*garbage\.pem: malformed PEM/));
  it('a key that does not match the certificate', () =>
    refused(
      ['--cert', join(dir, 'mismatch.pem')],
      /--cert .*: the private key does not match the certificate/,
    ));
  it('--tls-version 1.0 and 1.1', async () => {
    await refused(
      ['--tls-version', '1.0'],
      /--tls-version must be one of 1\.3, 1\.2 \(got "1\.0"\)/,
    );
    await refused(['--tls-version', '1.1'], /--tls-version must be one of 1\.3, 1\.2/);
  });
  it('--cert without --tls', async () => {
    const out = await cli(['max', '-n', '10', '--cert', 'ecdsa']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--cert needs --tls/);
  });
});
