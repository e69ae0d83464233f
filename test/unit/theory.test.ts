import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePortRange } from '../../src/limits/procfs.js';
import {
  countModels,
  destinationCeiling,
  internetTheory,
  MODEL_FORMULA,
  MODEL_ORDER,
  theory,
  toScientific,
} from '../../src/theory/index.js';

const big = (max: bigint) => fc.bigInt({ min: 1n, max });

describe('theory: the seed example, 2 machines x 3 ports', () => {
  const m = countModels({ machines: 2n, ports: 3n, ipsPerMachine: 1n });
  it('counts 21 exact connections (15 between distinct endpoints + 6 self)', () => {
    expect(m.exact).toBe(21n);
    expect(m.exactWithoutSelf).toBe(15n);
  });
  it('counts the popular 4-tuple answer as 36 and the naive models as 3, 3 and 4', () => {
    expect(m.orderedTuples).toBe(36n);
    expect(m.socketAnalogy).toBe(3n);
    expect(m.serverStar).toBe(3n);
    expect(m.serverBest).toBe(4n);
    expect(m.betweenMachines).toBe(9n);
  });
});

describe('theory: the whole IPv4 space', () => {
  const r = internetTheory('ipv4');
  const N = 2n ** 32n * 65535n;
  it('has 2^32 x 65535 endpoints and N(N+1)/2 exact connections, past 2^53', () => {
    expect(r.endpoints).toBe(N);
    expect(r.models.exact).toBe((N * (N + 1n)) / 2n);
    expect(r.models.orderedTuples).toBe(N * N);
    expect(r.models.exact > 2n ** 53n).toBe(true);
  });
  it('prints the popular answer (2^48-ish)^2 in scientific notation', () => {
    expect(r.scientific.orderedTuples).toBe(toScientific(N * N, 4));
    expect(r.scientific.orderedTuples).toMatch(/^7\.923e\+28$/);
  });
  it('IPv6 has 2^128 machines', () => {
    expect(internetTheory('ipv6').machines).toBe(2n ** 128n);
  });
});

describe('theory: identities between the models, over random large inputs', () => {
  const inputs = fc.record({
    machines: big(10n ** 30n),
    ports: big(65535n),
    ipsPerMachine: big(2n ** 64n),
  });
  it('2 x exactWithoutSelf + N == orderedTuples', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const m = countModels(i);
        const N = i.machines * i.ports * i.ipsPerMachine;
        return 2n * m.exactWithoutSelf + N === m.orderedTuples;
      }),
    );
  });
  it('exact == exactWithoutSelf + N, and 2 x exact == N^2 + N', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const m = countModels(i);
        const N = i.machines * i.ports * i.ipsPerMachine;
        return m.exact === m.exactWithoutSelf + N && 2n * m.exact === m.orderedTuples + N;
      }),
    );
  });
  it('between machines + within machines == exactWithoutSelf', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const m = countModels(i);
        const e = i.ports * i.ipsPerMachine;
        return m.betweenMachines + (i.machines * (e * (e - 1n))) / 2n === m.exactWithoutSelf;
      }),
    );
  });
  it('the naive models never exceed the exact count, and the 4-tuple answer always does for N > 1', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const m = countModels(i);
        const N = i.machines * i.ports * i.ipsPerMachine;
        return (
          m.socketAnalogy <= m.exactWithoutSelf &&
          m.serverStar <= m.serverBest &&
          m.serverBest <= m.exactWithoutSelf &&
          (N === 1n || m.orderedTuples > m.exact)
        );
      }),
    );
  });
  it('ips-per-machine k is the same as k times the ports', () => {
    fc.assert(
      fc.property(big(1000n), big(1000n), big(1000n), (n, p, k) => {
        const a = countModels({ machines: n, ports: p, ipsPerMachine: k });
        const b = countModels({ machines: n, ports: p * k, ipsPerMachine: 1n });
        return a.exact === b.exact && a.betweenMachines === b.betweenMachines;
      }),
    );
  });
});

describe('theory: small cases by enumeration', () => {
  it('exact equals a brute-force count of unordered endpoint pairs (with self) for small n, m', () => {
    for (let n = 1; n <= 4; n++) {
      for (let p = 1; p <= 4; p++) {
        const eps: [number, number][] = [];
        for (let a = 0; a < n; a++) for (let b = 0; b < p; b++) eps.push([a, b]);
        const pairs = new Set<string>();
        for (const x of eps)
          for (const y of eps) pairs.add([x.join(':'), y.join(':')].sort().join('-'));
        let between = 0;
        for (const pair of pairs) {
          const [x, y] = pair.split('-');
          if (x!.split(':')[0] !== y!.split(':')[0]) between++;
        }
        const m = countModels({ machines: BigInt(n), ports: BigInt(p), ipsPerMachine: 1n });
        expect(m.exact).toBe(BigInt(pairs.size));
        expect(m.betweenMachines).toBe(BigInt(between));
      }
    }
  });
  it('serverBest with one port per machine is n-1 (one listener, everyone else connects)', () => {
    expect(countModels({ machines: 5n, ports: 1n, ipsPerMachine: 1n }).serverBest).toBe(4n);
    expect(countModels({ machines: 1n, ports: 5n, ipsPerMachine: 1n }).serverBest).toBe(0n);
  });
  it('refuses counts below 1', () => {
    expect(() => countModels({ machines: 0n, ports: 3n, ipsPerMachine: 1n })).toThrow(RangeError);
  });
});

describe('perDestination', () => {
  it('is the size of the ephemeral range it was given, with its source', () => {
    const range = parsePortRange('32768\t60999', '/proc/sys/net/ipv4/ip_local_port_range')!;
    const r = theory({ machines: 2n, ports: 3n, portRange: range });
    expect(r.perDestination.connections).toBe(28232n);
    expect(r.perDestination.source).toContain('ip_local_port_range');
  });
  it('refuses a malformed range', () => {
    expect(parsePortRange('60999 32768', 'x')).toBeUndefined();
    expect(parsePortRange('abc', 'x')).toBeUndefined();
  });
});

describe('toScientific', () => {
  it('rounds and carries', () => {
    expect(toScientific(99999n, 3)).toBe('1.00e+5');
    expect(toScientific(123456n, 3)).toBe('1.23e+5');
    expect(toScientific(2n ** 96n, 4)).toBe('7.923e+28');
    expect(toScientific(42n, 4)).toBe('42');
  });
});

describe('MODEL_FORMULA: the formula each table prints beside a count', () => {
  /** The formula as JavaScript: C(n,2), nm, m(…), ^2, floor, max. */
  function evaluate(formula: string, n: number, m: number): number {
    const js = formula
      .replaceAll('C(n,2)', '(n*(n-1)/2)')
      .replaceAll('nm', '(n*m)')
      .replaceAll('m(', 'm*(')
      .replaceAll(')(', ')*(')
      .replaceAll(') m', ')*m')
      .replaceAll('^2', '**2')
      .replaceAll('floor(', 'Math.floor(')
      .replaceAll('max(', 'Math.max(');
    return new Function('n', 'm', `return ${js}`)(n, m) as number;
  }

  it('gives the same count as the model for n >= 2 machines of one IP (the proof of 5 x 1 included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 1, max: 60 }), (n, m) => {
        const counts = countModels({ machines: BigInt(n), ports: BigInt(m), ipsPerMachine: 1n });
        for (const k of MODEL_ORDER) {
          expect(evaluate(MODEL_FORMULA[k], n, m), `${k} at n=${n}, m=${m}`).toBe(
            Number(counts[k]),
          );
        }
      }),
    );
    expect(evaluate(MODEL_FORMULA.serverBest, 5, 1)).toBe(4);
  });
});

describe('destinationCeiling: what one client reaches before EADDRNOTAVAIL', () => {
  const range = { low: 32768, high: 60999, size: 28232, source: 'test' };
  it('fits: no warning; past it: the ceiling and the ways past it', () => {
    expect(destinationCeiling(28232, 1, range)).toEqual({ ceiling: 28232, warning: undefined });
    const d = destinationCeiling(150_000, 1, range);
    expect(d.ceiling).toBe(28232);
    expect(d.warning).toMatch(
      /^150000 connections asked, but 1 source IP to 1 destination ip:port hold at most 28232/,
    );
    expect(d.warning).toMatch(/widen net\.ipv4\.ip_local_port_range/);
    expect(destinationCeiling(150_000, 6, range).warning).toBeUndefined();
    expect(destinationCeiling(150_000, 2, range, 2).ceiling).toBe(4 * 28232);
  });
});
