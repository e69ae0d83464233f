import { describe, expect, it } from 'vitest';
import { formatRemoved } from '../../src/cli/hosts.js';
import { InvalidOptionError } from '../../src/errors.js';
import {
  bridgeName,
  commandIn,
  createLab,
  inLabNetwork,
  isRunId,
  machineAddress,
  machineNetnsName,
  netnsLabBatches,
  newRunId,
  parseCapEff,
  parseLinkNames,
  parseName,
  parseNetnsList,
  parseProcStatStart,
  planNetnsMachines,
  probeName,
} from '../../src/hosts/index.js';
import { cli } from '../helpers/cli.js';

describe('run ids and names', () => {
  it('a run id is 6 characters [0-9a-z], and fresh ids differ', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newRunId()));
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{6}$/);
    expect(ids.size).toBeGreaterThan(1990);
  });

  it('skips random bytes that would bias the alphabet', () => {
    // 252..255 are skipped; 0 -> '0', 35 -> 'z', 36 -> '0'.
    const bytes = [255, 0, 252, 35, 36, 253, 71, 10, 11];
    const id = newRunId((n) => Uint8Array.from(bytes.splice(0, n)));
    expect(id).toBe('0z0zab');
  });

  it('names every namespace and link ft-<runid>-<role>, short enough for an interface name', () => {
    expect(machineNetnsName('abc123', 0)).toBe('ft-abc123-m0');
    expect(bridgeName('abc123')).toBe('ft-abc123-br');
    expect(probeName('abc123')).toBe('ft-abc123-probe');
    // IFNAMSIZ is 16 including the NUL: 15 characters at most.
    expect(machineNetnsName('zzzzzz', 63).length).toBeLessThanOrEqual(15);
    expect(bridgeName('zzzzzz').length).toBeLessThanOrEqual(15);
  });

  it('recognises only our names', () => {
    expect(parseName('ft-abc123-m7')).toEqual({
      name: 'ft-abc123-m7',
      runId: 'abc123',
      role: 'machine',
      index: 7,
    });
    expect(parseName('ft-abc123-m0@if2')).toMatchObject({ name: 'ft-abc123-m0', index: 0 });
    expect(parseName('ft-abc123-br')).toEqual({
      name: 'ft-abc123-br',
      runId: 'abc123',
      role: 'bridge',
    });
    expect(parseName('ft-abc123-probe')?.role).toBe('probe');
    for (const other of [
      'eth0',
      'lo',
      'ft-abc12-m0',
      'ft-abc1234-m0',
      'ft-ABC123-m0',
      'ft-abc123-x0',
      'ft-abc123-m',
      'xft-abc123-m0',
      'ft-abc123-m0x',
      'docker0',
    ]) {
      expect(parseName(other), other).toBeUndefined();
    }
    expect(isRunId('abc123')).toBe(true);
    expect(isRunId('abc12')).toBe(false);
    expect(isRunId('../etc')).toBe(false);
  });
});

describe('addresses', () => {
  it('loopback machine k is 127.0.0.(k+1); netns machine k is 198.18.0.(k+1)', () => {
    expect(machineAddress('loopback', 0)).toBe('127.0.0.1');
    expect(machineAddress('loopback', 253)).toBe('127.0.0.254');
    expect(machineAddress('netns', 0)).toBe('198.18.0.1');
    expect(machineAddress('netns', 63)).toBe('198.18.0.64');
    expect(() => machineAddress('loopback', 254)).toThrow(InvalidOptionError);
    expect(() => machineAddress('netns', 64)).toThrow(/0 to 63/);
    expect(() => machineAddress('netns', -1)).toThrow(InvalidOptionError);
    expect(() => machineAddress('netns', 1.5)).toThrow(
      expect.objectContaining({ option: 'index', got: '1.5' }),
    );
  });

  it('every netns address is inside 198.18.0.0/15 and distinct', () => {
    const all = Array.from({ length: 64 }, (_, k) => machineAddress('netns', k));
    expect(new Set(all).size).toBe(64);
    for (const a of all) expect(inLabNetwork(a)).toBe(true);
    expect(inLabNetwork('198.19.255.255')).toBe(true);
    expect(inLabNetwork('198.20.0.1')).toBe(false);
    expect(inLabNetwork('198.17.0.1')).toBe(false);
    expect(inLabNetwork('192.0.2.1')).toBe(false);
    expect(inLabNetwork('198.18.0.256')).toBe(false);
  });

  it('plans a lab: names, addresses, /run/netns paths', () => {
    const ms = planNetnsMachines('abc123', 3);
    expect(ms).toEqual([
      {
        index: 0,
        name: 'm0',
        address: '198.18.0.1',
        netns: 'ft-abc123-m0',
        netnsPath: '/run/netns/ft-abc123-m0',
      },
      {
        index: 1,
        name: 'm1',
        address: '198.18.0.2',
        netns: 'ft-abc123-m1',
        netnsPath: '/run/netns/ft-abc123-m1',
      },
      {
        index: 2,
        name: 'm2',
        address: '198.18.0.3',
        netns: 'ft-abc123-m2',
        netnsPath: '/run/netns/ft-abc123-m2',
      },
    ]);
  });

  it('builds every device inside a namespace: the root batch only adds namespaces and veths with netns', () => {
    const b = netnsLabBatches('abc123', planNetnsMachines('abc123', 2));
    expect(b.root).toEqual([
      'netns add ft-abc123-br',
      'netns add ft-abc123-m0',
      'netns add ft-abc123-m1',
      'link add ft-abc123-m0 netns ft-abc123-br type veth peer name eth0 netns ft-abc123-m0',
      'link add ft-abc123-m1 netns ft-abc123-br type veth peer name eth0 netns ft-abc123-m1',
    ]);
    expect(b.bridge).toContain('link add ft-abc123-br type bridge');
    expect(b.bridge).toContain('link set ft-abc123-m1 master ft-abc123-br');
    expect(b.machines[1]).toEqual([
      'link set lo up',
      'addr add 198.18.0.2/16 dev eth0',
      'link set eth0 up',
    ]);
  });
});

describe('parsers', () => {
  it('reads `ip netns list`, with and without ids', () => {
    const out = 'ft-abc123-m1 (id: 2)\nft-abc123-br (id: 0)\nft-abc123-m0\nother\n\n';
    expect(parseNetnsList(out)).toEqual(['ft-abc123-m1', 'ft-abc123-br', 'ft-abc123-m0', 'other']);
    expect(parseNetnsList('')).toEqual([]);
  });

  it('reads `ip -o link show`', () => {
    const out = [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
      '4: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP mode DEFAULT',
      '7: ft-abc123-m0@if2: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN link-netns ft-abc123-m0',
      '',
    ].join('\n');
    expect(parseLinkNames(out)).toEqual(['lo', 'eth0', 'ft-abc123-m0']);
  });

  it('reads a process start time from /proc/PID/stat, even with ) in the command name', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[19] = '987654'; // field 22
    expect(parseProcStatStart(`123 (a) b) c) ${fields.join(' ')}`)).toBe('987654');
  });

  it('reads the effective capabilities', () => {
    expect(parseCapEff('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
    expect(parseCapEff('CapEff:\t0000000000000000')).toBe(0n);
    expect(parseCapEff('Name: x')).toBeUndefined();
  });
});

describe('running inside a machine', () => {
  it('uses ip netns exec for a netns machine and runs directly on loopback', () => {
    expect(commandIn({ netns: 'ft-abc123-m0' }, 'ping', ['-c1', '198.18.0.2'])).toEqual({
      file: 'ip',
      args: ['netns', 'exec', 'ft-abc123-m0', 'ping', '-c1', '198.18.0.2'],
    });
    expect(commandIn({}, 'true')).toEqual({ file: 'true', args: [] });
  });
});

describe('loopback labs', () => {
  it('machine k is 127.0.0.(k+1) and nothing is created', async () => {
    const lab = await createLab({ kind: 'loopback', machines: 3 });
    expect(lab.kind).toBe('loopback');
    expect(lab.machines.map((m) => m.address)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(lab.machines[0]?.netns).toBeUndefined();
    expect((await lab.destroy()).removed).toEqual([]);
  });

  it('refuses machine counts out of range, naming the option by its library field', async () => {
    await expect(createLab({ kind: 'loopback', machines: 0 })).rejects.toThrow(/1 to 254/);
    await expect(createLab({ kind: 'loopback', machines: 255 })).rejects.toMatchObject({
      code: 'FOURTUPLE_USAGE',
      option: 'machines',
      got: '255',
    });
    await expect(createLab({ kind: 'netns', machines: 65 })).rejects.toThrow(/1 to 64/);
    await expect(createLab({ kind: 'netns', machines: 2.5 })).rejects.toThrow(InvalidOptionError);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(
      createLab({ kind: 'loopback', machines: 1, signal: AbortSignal.abort() }),
    ).rejects.toThrow(/abort/i);
  });
});

describe('fourtuple hosts / cleanup: input checks (exit 2, no root needed)', () => {
  it.each([
    [['hosts', 'up', '--machines', '0'], /--machines must be an integer from 1 to 64 \(got 0\)/],
    [['hosts', 'up', '--machines', '65'], /--machines must be an integer from 1 to 64/],
    [['hosts', 'up', '--machines', 'many'], /--machines must be an integer from 1 to 64/],
    [['hosts', 'up', '--machines', '-3'], /--machines must be an integer from 1 to 64/],
    [['hosts', 'up'], /--machines is required \(an integer from 1 to 64\)/],
    [['hosts'], /hosts needs a subcommand: up, down or list$/m],
    [['hosts', 'sideways'], /hosts needs a subcommand: up, down or list \(got "sideways"\)/],
    [['hosts', 'list', 'extra'], /unexpected argument "extra"/],
    [['hosts', 'list', '--machines', '3'], /--machines goes with `hosts up` only/],
    [['hosts', 'up', '--machines', '2', '--run', 'abc123'], /--run goes with `hosts down` only/],
    [['hosts', 'down', '--run', 'nope'], /--run must be a run id, 6 characters/],
    [['hosts', 'down', '--run', '../../etc'], /--run must be a run id/],
    [['cleanup', 'now'], /unexpected argument "now"/],
    [['cleanup', '--machines', '2'], /unknown option --machines/],
  ])('%j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});

describe('output', () => {
  it('lists what was removed, grouped', () => {
    expect(formatRemoved([])).toBe('nothing of ours to remove');
    const text = formatRemoved([
      { type: 'netns', name: 'ft-abc123-br', runId: 'abc123' },
      { type: 'netns', name: 'ft-abc123-m0', runId: 'abc123' },
      { type: 'state', name: '/run/fourtuple/labs/abc123.json', runId: 'abc123' },
    ]);
    expect(text).toBe(
      [
        'removed 3 item(s) of 1 run(s) (abc123):',
        '  namespace  ft-abc123-br',
        '  namespace  ft-abc123-m0',
        '  record     /run/fourtuple/labs/abc123.json',
      ].join('\n'),
    );
  });
});
