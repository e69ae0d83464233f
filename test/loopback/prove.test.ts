/**
 * `fourtuple prove` on loopback: every possible connection among n machines (127.0.0.k) x m
 * ports built on this kernel, counted on both sides, and one more of each kind refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ProveResult, prove } from '../../src/proof/prove.js';
import { pendingWaits } from '../../src/sockets/poller.js';
import { openDescriptors } from '../../src/sockets/rlimit.js';
import { cli } from '../helpers/cli.js';

/** TCP sockets of any state whose local or remote port is in base..base+count-1 (ss). */
function socketsOn(base: number, count: number): string[] {
  const out = execFileSync(
    'ss',
    [
      '-tanH',
      `( sport >= :${base} and sport <= :${base + count - 1} ) or ( dport >= :${base} and dport <= :${base + count - 1} )`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter((l) => l.trim().length > 0);
}

function expectExact(r: ProveResult, machines: number, ports: number): void {
  const N = machines * ports;
  const E = ports;
  expect(r.endpoints).toBe(BigInt(N));
  expect(r.established).toBe(BigInt((N * (N + 1)) / 2));
  expect(r.connected).toBe(BigInt((N * (N + 1)) / 2));
  expect(r.accepted).toBe(BigInt((N * (N - 1)) / 2));
  expect(r.selfConnections).toBe(BigInt(N));
  expect(r.betweenMachines).toBe(BigInt(((machines * (machines - 1)) / 2) * E * E));
  expect(r.distinctTuples).toBe(true);
  expect(r.connectFailures).toEqual({});
  expect(r.attempts.reverse).toEqual({
    tried: (N * (N - 1)) / 2,
    refused: { EADDRNOTAVAIL: (N * (N - 1)) / 2 },
    succeeded: 0,
  });
  expect(r.attempts.duplicate).toEqual({
    tried: (N * (N + 1)) / 2,
    refused: { EADDRNOTAVAIL: (N * (N + 1)) / 2 },
    succeeded: 0,
  });
  // reverse + duplicate = N^2 attempts, the popular answer's count, every one refused
  expect(r.attemptsRefused).toEqual({ EADDRNOTAVAIL: N * N });
  expect(r.attemptsSucceeded).toBe(0);
  expect(r.models.exact).toBe(r.established);
  expect(r.verdict).toBe('exact');
  expect(r.differences).toEqual([]);
  expect(socketsOn(r.basePort, ports)).toEqual([]);
  expect(pendingWaits()).toBe(0);
}

describe('prove on loopback', () => {
  it('2 machines x 3 ports: 21 connections (15 accepted + 6 self), 36 extra attempts refused', async () => {
    const before = openDescriptors();
    const r = await prove({ machines: 2, ports: 3 });
    expectExact(r, 2, 3);
    expect(r.hosts).toBe('loopback');
    expect(r.machineList.map((m) => m.address)).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(r.basePort).toBeGreaterThanOrEqual(10_000);
    expect(r.basePort + 2).toBeLessThan(32_768);
    expect(r.connections).toHaveLength(21);
    const p = r.basePort;
    expect(r.connections).toContainEqual({ a: `127.0.0.1:${p}`, b: `127.0.0.2:${p + 1}` });
    expect(r.connections).toContainEqual({ a: `127.0.0.2:${p + 2}`, b: `127.0.0.2:${p + 2}` });
    // every unordered pair once
    const keys = r.connections!.map((c) => [c.a, c.b].sort().join(' '));
    expect(new Set(keys).size).toBe(21);
    expect(openDescriptors()).toBe(before);
  });

  it('3 machines x 4 ports: 78', async () => {
    const r = await prove({ machines: 3, ports: 4 });
    expectExact(r, 3, 4);
    expect(r.established).toBe(78n);
    expect(r.betweenMachines).toBe(48n);
  });

  it('1 machine x 5 ports: 15, none between machines', async () => {
    const r = await prove({ machines: 1, ports: 5 });
    expectExact(r, 1, 5);
    expect(r.established).toBe(15n);
    expect(r.betweenMachines).toBe(0n);
  });

  it('4 machines x 32 ports (N = 128, 8,256 connections) finishes in seconds', async () => {
    const before = openDescriptors();
    const t = performance.now();
    const r = await prove({ machines: 4, ports: 32 });
    const ms = Math.round(performance.now() - t);
    expectExact(r, 4, 32);
    expect(r.established).toBe(8256n);
    expect(r.connections).toBeUndefined(); // not listed past 64 endpoints
    expect(ms, `prove 4x32 took ${ms} ms: ${JSON.stringify(r.timings)}`).toBeLessThan(15_000);
    expect(openDescriptors()).toBe(before);
  });

  it('takes basePort as given, and refuses one out of range by its field name', async () => {
    const first = await prove({ machines: 1, ports: 2 });
    const r = await prove({ machines: 2, ports: 2, basePort: first.basePort });
    expect(r.basePort).toBe(first.basePort);
    expect(r.verdict).toBe('exact');
    await expect(prove({ machines: 1, ports: 1, basePort: 22 })).rejects.toMatchObject({
      name: 'InvalidOptionError',
      code: 'FOURTUPLE_USAGE',
      option: 'basePort',
      message:
        'basePort must be an integer from 1024 to 65535 so that basePort + ports - 1 is at most 65535 (got 22)',
    });
    await expect(prove({ machines: 1, ports: 3, basePort: 65534 })).rejects.toMatchObject({
      option: 'basePort',
      expected: expect.stringMatching(/from 1024 to 65533/),
    });
  });

  it('two proofs started together on one base port: one owns the ports and is exact, the other is refused', async () => {
    const base = (await prove({ machines: 1, ports: 1 })).basePort;
    // both check the ports before either binds: only the port lock keeps them apart
    const runs = await Promise.allSettled([
      prove({ machines: 4, ports: 8, basePort: base }),
      prove({ machines: 4, ports: 8, basePort: base }),
    ]);
    const won = runs.filter((r) => r.status === 'fulfilled');
    const lost = runs.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect((won[0] as PromiseFulfilledResult<ProveResult>).value).toMatchObject({
      verdict: 'exact',
      established: 528n,
    });
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'FOURTUPLE_PORTS_BUSY',
      message: `another fourtuple run is using ports ${base}-${base + 7}; wait for it, or choose another base port`,
    });
    // released at the end: the same ports can be owned again
    expect((await prove({ machines: 1, ports: 2, basePort: base })).verdict).toBe('exact');
  });

  it('an abort midway closes everything it opened', async () => {
    const before = openDescriptors();
    const ac = new AbortController();
    const base = 0;
    const run = prove({
      machines: 4,
      ports: 16,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'connect' && p.done > 0) ac.abort();
      },
    }).catch((err: unknown) => err);
    const err = await run;
    expect((err as Error).name).toBe('AbortError');
    void base;
    expect(openDescriptors()).toBe(before);
    expect(pendingWaits()).toBe(0);
  });

  it('refuses sizes beyond the descriptor limit, naming it and the numbers', async () => {
    await expect(prove({ machines: 1, ports: 150 })).rejects.toThrow(
      /150 endpoints need 22,714 file descriptors.*RLIMIT_NOFILE/,
    );
  });
});

describe('fourtuple prove (CLI)', () => {
  it('prints the count next to the models, the refusals and the verdict', async () => {
    const r = await cli(['prove', '--machines', '2', '--ports', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/established\s+21 connections: 15 between distinct endpoints/);
    expect(r.stdout).toMatch(/popular 4-tuple\s+\(nm\)\^2\s+36\s+15 more/);
    expect(r.stdout).toMatch(/exact\s+nm\(nm\+1\)\/2\s+21\s+= established/);
    expect(r.stdout).toContain('15 reverse directions');
    expect(r.stdout).toContain('EADDRNOTAVAIL x21');
    expect(r.stdout).toContain('verdict: exact');
  });

  it('--json prints the result object, BigInts as strings', async () => {
    const r = await cli(['prove', '--machines', '2', '--ports', '3', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      machines: '2',
      ports: '3',
      hosts: 'loopback',
      endpoints: '6',
      established: '21',
      accepted: '15',
      selfConnections: '6',
      betweenMachines: '9',
      distinctTuples: true,
      attemptsRefused: { EADDRNOTAVAIL: 36 },
      attemptsSucceeded: 0,
      models: { exact: '21', orderedTuples: '36', socketAnalogy: '3', serverBest: '4' },
      verdict: 'exact',
    });
    expect(j.connections).toHaveLength(21);
  });

  it('--graph writes an SVG with one edge per connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fourtuple-prove-'));
    try {
      const file = join(dir, 'g.svg');
      const r = await cli(['prove', '--machines', '3', '--ports', '2', '--graph', file]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`graph: ${file}`);
      const svg = readFileSync(file, 'utf8');
      expect(svg.match(/class="endpoint"/g)).toHaveLength(6);
      expect(svg.match(/class="edge"/g)).toHaveLength(15);
      expect(svg.match(/class="loop"/g)).toHaveLength(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad flags with the accepted range (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--machines', '0', '--ports', '3'], /--machines must be an integer from 1 to 254/],
      [['--machines', '2', '--ports', '2000'], /--ports must be an integer from 1 to 1024/],
      [['--machines', '65', '--ports', '1', '--hosts', 'netns'], /from 1 to 64/],
      [
        ['--machines', '2', '--ports', '1', '--hosts', 'vm'],
        /--hosts must be one of loopback, netns/,
      ],
      [
        ['--machines', '2', '--ports', '3', '--base-port', '80'],
        /--base-port must be an integer from 1024 to 65533/,
      ],
      [['--machines', '2', '--ports', '3', '--graph', 'x.png'], /--graph must name an \.svg file/],
      [
        ['--machines', '10', '--ports', '20'],
        /200 endpoints need 40,264 file descriptors .* RLIMIT_NOFILE is/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['prove', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
