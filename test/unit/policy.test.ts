/**
 * The target policy, tested as a pure function on address strings. Refused examples come from
 * the documentation ranges (192.0.2.0/24, 2001:db8::/32); nothing here ever connects to them.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseTargetHostPort } from '../../src/cli/_args.js';
import { heartbeat } from '../../src/endpoints/connector.js';
import { TargetRefusedError, UsageError } from '../../src/errors.js';
import {
  anyRemote,
  assertTargetsAllowed,
  checkTargets,
  isLoopbackAddress,
  resolveTargets,
} from '../../src/policy/targets.js';
import { runMax } from '../../src/scale/coordinator.js';
import { cli } from '../helpers/cli.js';

const deny = { allowRemote: false };

describe('checkTargets: loopback and our labs only', () => {
  it('allows 127.0.0.0/8, ::1 and IPv4-mapped loopback', () => {
    const ok = [
      '127.0.0.1',
      '127.0.0.2',
      '127.255.255.254',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
    ];
    expect(checkTargets(ok, deny)).toEqual({ allowed: ok, refused: [] });
  });

  it('refuses the documentation range, IPv6 and IPv4-mapped alike, saying --allow-remote is the way', () => {
    const r = checkTargets(['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.9'], deny);
    expect(r.allowed).toEqual([]);
    expect(r.refused.map((x) => x.address)).toEqual([
      '192.0.2.1',
      '2001:db8::1',
      '::ffff:192.0.2.9',
    ]);
    for (const x of r.refused) expect(x.reason).toMatch(/not loopback.*--allow-remote/);
    expect(r.refused[2]!.reason).toMatch(/IPv4-mapped/);
  });

  it('refuses the unspecified addresses (0.0.0.0, ::): not a host', () => {
    const r = checkTargets(['0.0.0.0', '::'], deny);
    expect(r.refused.map((x) => x.reason)).toEqual([
      expect.stringMatching(/unspecified/),
      expect.stringMatching(/unspecified/),
    ]);
  });

  it('refuses names and malformed text as "not an IP address", even with allowRemote', () => {
    for (const a of ['localhost', '127.1', '999.0.0.1', '::g', '1:2:3:4:5:6:7:8:9', '']) {
      const r = checkTargets([a], { allowRemote: true });
      expect(r.refused).toEqual([{ address: a, reason: 'not an IP address' }]);
    }
  });

  it('allows a lab host only when that lab exists; other lab-network addresses are refused', () => {
    expect(checkTargets(['198.18.0.5'], deny).refused[0]!.reason).toMatch(
      /reached only from inside its lab/,
    );
    const labs = { allowRemote: false, labAddresses: ['198.18.0.5', '198.18.0.6'] };
    expect(checkTargets(['198.18.0.5'], labs).allowed).toEqual(['198.18.0.5']);
    expect(checkTargets(['198.18.0.7'], labs).refused[0]!.reason).toMatch(
      /not a host of the lab this socket is in/,
    );
    expect(checkTargets(['198.19.255.254'], labs).refused[0]!.reason).toMatch(/lab network/);
    expect(checkTargets(['198.20.0.1'], labs).refused[0]!.reason).toMatch(/not loopback/);
  });

  it('allowRemote allows any IP address', () => {
    expect(checkTargets(['192.0.2.1', '2001:db8::1'], { allowRemote: true }).refused).toEqual([]);
  });

  it('property: every 127.x.y.z is allowed, every other IPv4 address is refused', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(octet, octet, octet, octet, (a, b, c, d) => {
        const ip = `${a}.${b}.${c}.${d}`;
        const r = checkTargets([ip], deny);
        expect(r.allowed.length === 1).toBe(a === 127);
        expect(isLoopbackAddress(ip)).toBe(a === 127);
        expect(isLoopbackAddress(`::ffff:${ip}`)).toBe(a === 127);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: no IPv6 address but ::1 (and mapped 127/8) is loopback', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        // An independent oracle: WHATWG URL writes an IPv6 host in its one canonical form.
        const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
        const expected = canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(canonical);
        expect(checkTargets([ip], deny).refused.length === 0).toBe(expected);
      }),
      { numRuns: 5000 },
    );
    expect(isLoopbackAddress('0:0:0:0:0:ffff:7f00:1')).toBe(true);
  });

  it('assertTargetsAllowed throws TargetRefusedError naming the first refused address', () => {
    expect(() => assertTargetsAllowed(['127.0.0.1', '192.0.2.3'], deny)).toThrow(
      TargetRefusedError,
    );
    expect(() => assertTargetsAllowed(['127.0.0.1', '192.0.2.3'], deny)).toThrow(
      /target 192\.0\.2\.3 refused/,
    );
    expect(() => assertTargetsAllowed(['127.0.0.1', '::1'], deny)).not.toThrow();
    expect(anyRemote(['127.0.0.1', '198.18.0.1'], ['198.18.0.1'])).toBe(false);
    expect(anyRemote(['127.0.0.1', '192.0.2.3'])).toBe(true);
  });
});

describe('resolveTargets: a name is resolved once, every address must pass', () => {
  it('a name resolving only to loopback is allowed, with every address', async () => {
    const lookup = vi.fn(async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    const r = await resolveTargets('here.example', { allowRemote: false, lookup });
    expect(r).toEqual({
      ok: true,
      target: { host: 'here.example', addresses: ['127.0.0.1', '::1'], resolved: true },
    });
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('a name resolving to loopback and elsewhere is refused as a whole', async () => {
    const lookup = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '192.0.2.7', family: 4 },
    ];
    const r = await resolveTargets('split.example', { allowRemote: false, lookup });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.addresses).toEqual(['127.0.0.1', '192.0.2.7']);
    expect(r.refused.map((x) => x.address)).toEqual(['192.0.2.7']);
  });

  it('reads the lab addresses only when an address is not loopback', async () => {
    const loadLabAddresses = vi.fn(async () => ['198.18.0.1']);
    await resolveTargets('127.0.0.9', { allowRemote: false, loadLabAddresses });
    expect(loadLabAddresses).not.toHaveBeenCalled();
    const r = await resolveTargets('198.18.0.1', { allowRemote: false, loadLabAddresses });
    expect(loadLabAddresses).toHaveBeenCalledTimes(1);
    expect(r.ok).toBe(true);
  });

  it('a name that resolves to nothing is refused', async () => {
    const r = await resolveTargets('void.example', { allowRemote: false, lookup: async () => [] });
    expect(r).toMatchObject({ ok: false, refused: [{ reason: 'resolves to no address' }] });
  });
});

describe('parseTargetHostPort', () => {
  it('takes IP:PORT, [IPv6]:PORT and NAME:PORT', () => {
    expect(parseTargetHostPort('to', '127.0.0.1:80')).toEqual({
      host: '127.0.0.1',
      port: 80,
      family: 4,
    });
    expect(parseTargetHostPort('to', '[::1]:65535')).toEqual({
      host: '::1',
      port: 65535,
      family: 6,
    });
    expect(parseTargetHostPort('to', 'localhost:3000')).toEqual({
      host: 'localhost',
      port: 3000,
      family: 0,
    });
  });

  it('refuses a bad port or a malformed host with a UsageError naming the flag', () => {
    for (const bad of [
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.1',
      '[localhost]:80',
      '999.1.1.1:80',
      'a_b:80',
      '-x:80',
      ':80',
    ]) {
      expect(() => parseTargetHostPort('to', bad)).toThrow(UsageError);
      expect(() => parseTargetHostPort('to', bad)).toThrow(/^--to must be/);
    }
  });
});

// Beyond the pure functions above, no test names a remote address: if the policy broke, the
// unspecified addresses used below would reach this host's own loopback, never another host.
describe('the library refuses before any socket exists', () => {
  it('heartbeat to 0.0.0.0 throws TargetRefusedError', async () => {
    await expect(heartbeat({ to: { host: '0.0.0.0', port: 9 } })).rejects.toThrow(
      TargetRefusedError,
    );
  });

  it('runMax with a target at :: throws TargetRefusedError, and with allowRemote still needs a count and a rate', async () => {
    const targets = [{ host: '::', port: 9 }];
    await expect(runMax({ connections: 10, targets })).rejects.toThrow(TargetRefusedError);
    await expect(runMax({ connections: 'auto', targets, allowRemote: true })).rejects.toThrow(
      /--connections must be a number/,
    );
    await expect(runMax({ connections: 10, targets, allowRemote: true })).rejects.toThrow(
      /--rate is required/,
    );
  });
});

describe('the CLI applies the policy: exit 2, one line, nothing sent', () => {
  it.each([
    [['connect', '--to', '0.0.0.0:80'], /--to 0\.0\.0\.0 refused: the unspecified address/],
    [['connect', '--to', '[::]:80'], /--to :: refused: the unspecified address/],
    [['max', '--target', '127.0.0.1:7000,0.0.0.0:80'], /--target 0\.0\.0\.0 refused/],
    [['max', '--target', '0.0.0.0:80', '--allow-remote'], /--connections must be a number/],
    [
      ['max', '--target', '0.0.0.0:80', '--allow-remote', '--connections', '5'],
      /--rate is required/,
    ],
  ])('fourtuple %j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
