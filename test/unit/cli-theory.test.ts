import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePortRange } from '../../src/limits/procfs.js';
import { cli, cliProcess } from '../helpers/cli.js';

const range = parsePortRange(
  readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
  '/proc/sys/net/ipv4/ip_local_port_range',
)!;

describe('fourtuple theory', () => {
  it('--json prints the models for 2 x 3 with BigInts as decimal strings', () => {
    const r = cliProcess(['theory', '--machines', '2', '--ports', '3', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      machines: '2',
      ports: '3',
      ipsPerMachine: '1',
      endpoints: '6',
      models: {
        socketAnalogy: '3',
        serverStar: '3',
        serverBest: '4',
        orderedTuples: '36',
        exact: '21',
        exactWithoutSelf: '15',
        betweenMachines: '9',
      },
    });
    expect(j.perDestination.connections).toBe(String(range.size));
  });

  it('prints a table with the exact count and the double-count explanation', async () => {
    const r = await cli(['theory', '--machines', '2', '--ports', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/exact\s+21/);
    expect(r.stdout).toMatch(/popular 4-tuple\s+36/);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('one 4-tuple seen from both ends');
  });

  it('accepts 10^30 machines and prints the exact figure', async () => {
    const r = await cli([
      'theory',
      '--machines',
      `1${'0'.repeat(30)}`,
      '--ports',
      '65535',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const N = 10n ** 30n * 65535n;
    expect(JSON.parse(r.stdout).models.exact).toBe(((N * (N + 1n)) / 2n).toString());
  });

  it('--internet --family ipv6 counts 2^128 machines', async () => {
    const r = await cli(['theory', '--internet', '--family', 'ipv6', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).machines).toBe((2n ** 128n).toString());
  });

  const bad: [string[], RegExp][] = [
    [['--machines', '0', '--ports', '3'], /--machines must be an integer from 1 to/],
    [['--machines', '-2', '--ports', '3'], /--machines must be an integer/],
    [['--machines', '2.5', '--ports', '3'], /--machines must be an integer/],
    [['--machines', '2', '--ports', '70000'], /--ports must be an integer from 1 to 65535/],
    [['--machines', '2'], /--ports is required/],
    [['--ports', '3'], /--machines is required/],
    [['--machines', '2', '--ports', '3', '--frobnicate'], /unknown option --frobnicate/],
    [['--internet', '--family', 'ipv5'], /--family must be one of ipv4, ipv6/],
    [['--internet', '--machines', '3'], /--internet and --machines cannot be used together/],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${args.join(' ')} with exit 2 and one line`, async () => {
      const r = await cli(['theory', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('--help describes every flag', async () => {
    const r = await cli(['theory', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--machines', '--ports', '--ips-per-machine', '--internet', '--json']) {
      expect(r.stdout).toContain(flag);
    }
    // generated from the spec: aliases, ranges, defaults, and when an option is needed
    expect(r.stdout).toMatch(/^Usage: fourtuple theory --machines N --ports M \[options\]/);
    expect(r.stdout).toMatch(
      /-n, --machines N +machines \(1 to 10\^40; required unless --internet\)/,
    );
    expect(r.stdout).toMatch(/-m, --ports M +ports per IP address \(1 to 65535;/);
    expect(r.stdout).toMatch(
      /--ips-per-machine N +IP addresses per machine \(1 to 2\^128; default 1\)/,
    );
    expect(r.stdout).toMatch(/--family ipv4\|ipv6 [\s\S]*?\(default\s+ipv4\)/);
  });

  it('an unknown command exits 2', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command');
  });
});
