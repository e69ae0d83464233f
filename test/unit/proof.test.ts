/** The proof's pure parts: the SVG graph, the descriptor budget, static neighbours, the verdict. */
import { describe, expect, it } from 'vitest';
import { checkBudget, descriptorNeed, parseNofile } from '../../src/proof/budget.js';
import { proofGraph } from '../../src/proof/graph.js';
import { machineMac, neighbourBatches } from '../../src/proof/neighbours.js';
import { differences, verdictOf } from '../../src/proof/verify.js';
import { countModels } from '../../src/theory/models.js';

function allConnections(machines: string[], ports: number, base: number) {
  const eps = machines.flatMap((a) => Array.from({ length: ports }, (_, j) => `${a}:${base + j}`));
  const out: { a: string; b: string }[] = [];
  for (let i = 0; i < eps.length; i++)
    for (let j = i; j < eps.length; j++) out.push({ a: eps[i]!, b: eps[j]! });
  return out;
}

describe('proofGraph', () => {
  it.each([
    [2, 3],
    [3, 4],
    [1, 5],
    [8, 8],
  ])(
    '%i machines x %i ports: one node per endpoint, one edge per connection, one loop per self',
    (n, m) => {
      const addrs = Array.from({ length: n }, (_, k) => `127.0.0.${k + 1}`);
      const connections = allConnections(addrs, m, 6000);
      const N = n * m;
      const svg = proofGraph({
        machineList: addrs.map((address, k) => ({ name: `m${k}`, address })),
        ports: BigInt(m),
        basePort: 6000,
        connections,
      });
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg.match(/class="endpoint"/g)).toHaveLength(N);
      expect(svg.match(/class="edge"/g)?.length ?? 0).toBe((N * (N - 1)) / 2);
      expect(svg.match(/class="loop"/g)).toHaveLength(N);
      expect(svg.match(/class="machine"/g)).toHaveLength(n);
      expect(svg).toContain(`${connections.length} connections`);
      expect(svg).not.toMatch(/NaN|undefined/);
    },
  );

  it('escapes text', () => {
    const svg = proofGraph({
      machineList: [{ name: '<m0>', address: '127.0.0.1' }],
      ports: 1,
      basePort: 6000,
      connections: [],
      title: 'a & b',
    });
    expect(svg).toContain('&lt;m0&gt;');
    expect(svg).toContain('a &amp; b');
  });
});

describe('descriptor budget', () => {
  it('parses Max open files from /proc/self/limits', () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max open files            20000                20000                files     \n';
    expect(parseNofile(text)).toEqual({ soft: 20000, hard: 20000 });
    expect(parseNofile('Max open files unlimited unlimited files')?.soft).toBe(Infinity);
    expect(parseNofile('nothing')).toBeUndefined();
  });

  it('N endpoints hold N^2 + N descriptors, plus the attempts in flight', () => {
    expect(descriptorNeed(6, 0).total).toBe(42);
    expect(descriptorNeed(128, 64)).toMatchObject({
      listeners: 128,
      pairSockets: 128 * 127,
      selfSockets: 128,
      total: 128 * 128 + 128 + 64,
    });
  });

  it('says which limit stops a size and by how much', () => {
    const limit = { soft: 20000, hard: 20000, source: '/proc/self/limits' };
    expect(checkBudget(128, 64, limit, 30).ok).toBe(true);
    const c = checkBudget(150, 64, limit, 30);
    expect(c.ok).toBe(false);
    expect(c.maxEndpoints).toBe(140);
    expect(c.reason).toBe(
      '150 endpoints need 22,714 file descriptors in one process (150 listeners + 22,350 for ' +
        '11,175 connections between endpoints + 150 self-connections + 64 extra attempts in ' +
        'flight), but RLIMIT_NOFILE is 20,000 (hard 20,000, /proc/self/limits) and 30 are ' +
        'already open: at most 140 endpoints fit',
    );
  });
});

describe('static neighbours', () => {
  it('gives each machine a MAC and a permanent entry for every other machine', () => {
    expect(machineMac(0)).toBe('02:66:74:00:00:00');
    expect(machineMac(300)).toBe('02:66:74:00:01:2c');
    const machines = [0, 1, 2].map((k) => ({
      index: k,
      name: `m${k}`,
      address: `198.18.0.${k + 1}`,
      netns: `ft-abcdef-m${k}`,
    }));
    const b = neighbourBatches(machines);
    expect(b).toHaveLength(3);
    expect(b[1]).toEqual([
      'link set dev eth0 address 02:66:74:00:00:01',
      'neigh replace 198.18.0.1 lladdr 02:66:74:00:00:00 dev eth0 nud permanent',
      'neigh replace 198.18.0.3 lladdr 02:66:74:00:00:02 dev eth0 nud permanent',
    ]);
  });
});

describe('the verdict: differences from the exact model', () => {
  const models = countModels({ machines: 2n, ports: 3n, ipsPerMachine: 1n });
  const none = { tried: 0, refused: {}, succeeded: 0 };
  const tuples = (established: number, mirrored: number) => ({
    distinct: true,
    established,
    selfConnections: established - mirrored,
    mirrored,
    betweenMachines: 9,
    differences: [],
  });
  const extra = (reverse = 0, duplicate = 0) => ({
    attempts: {
      reverse: { ...none, succeeded: reverse },
      duplicate: { ...none, succeeded: duplicate },
    },
    attemptsRefused: {},
    attemptsSucceeded: reverse + duplicate,
  });

  it('none when 21 = N(N+1)/2 were built for N = 6 and every extra attempt failed', () => {
    const found = { connected: 21, accepted: 15, connectFailures: {}, tuples: tuples(21, 15) };
    expect(differences(models, 6, { ...found, extra: extra() })).toEqual([]);
  });

  it('names each shortfall: the count, failed connects, unaccepted sockets, an extra that got in', () => {
    const found = {
      connected: 21,
      accepted: 14,
      connectFailures: { ETIMEDOUT: 1 },
      tuples: tuples(20, 14),
    };
    expect(differences(models, 6, { ...found, extra: extra(0, 1) })).toEqual([
      'established 20 connections, the exact model says 21 (N(N+1)/2 for N = 6)',
      'connects that failed: ETIMEDOUT x1',
      "1 connected socket(s) never showed up at a listener's accept()",
      '1 extra attempt(s) succeeded (reverse 0, duplicate 1)',
    ]);
  });

  it('only EADDRNOTAVAIL is a refusal: any other failure of an extra attempt makes the verdict an error', () => {
    const found = { connected: 21, accepted: 15, connectFailures: {}, tuples: tuples(21, 15) };
    const refused = { ...extra(), attemptsRefused: { EADDRNOTAVAIL: 51 } };
    expect(verdictOf(differences(models, 6, { ...found, extra: refused }), refused)).toBe('exact');
    // a lab removed mid-proof: the attempts fail, but not because the 4-tuple is taken
    const broken = { ...extra(), attemptsRefused: { EADDRNOTAVAIL: 611, Error: 7508, EINVAL: 9 } };
    const diffs = differences(models, 6, { ...found, extra: broken });
    expect(diffs).toEqual([
      'extra attempts failed for a reason the proof does not predict (only EADDRNOTAVAIL means the 4-tuple is taken): Error x7508, EINVAL x9',
    ]);
    expect(verdictOf(diffs, broken)).toBe('error');
  });
});
