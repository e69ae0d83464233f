import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors.js';
import {
  decodeSockAddr,
  encodeSockAddr,
  errnoMeaning,
  errnoName,
  errnoNumber,
  formatSockAddr,
  lookupErrno,
} from '../../src/sockets/index.js';

const roundTrip = (address: string, port = 6001) => decodeSockAddr(encodeSockAddr(address, port));

describe('sockaddr_in (IPv4)', () => {
  it('encodes family, port and address in network byte order', () => {
    const b = encodeSockAddr('127.0.0.1', 6001);
    expect(b.length).toBe(16);
    expect(b.readUInt16LE(0)).toBe(2); // AF_INET
    expect([...b.subarray(2, 4)]).toEqual([0x17, 0x71]); // 6001 big-endian
    expect([...b.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
    expect([...b.subarray(8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it.each(['127.0.0.1', '127.0.0.2', '0.0.0.0', '127.255.255.255', '127.1.2.3'])(
    'round-trips %s',
    (a) => {
      expect(roundTrip(a, 65535)).toEqual({ address: a, port: 65535, family: 4 });
    },
  );

  it('round-trips every address and port (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 65535 }), (a, p) => {
        expect(roundTrip(a, p)).toEqual({ address: a, port: p, family: 4 });
      }),
    );
  });
});

describe('sockaddr_in6 (IPv6)', () => {
  it('encodes family, port and the 16 address bytes', () => {
    const b = encodeSockAddr('::1', 443);
    expect(b.length).toBe(28);
    expect(b.readUInt16LE(0)).toBe(10); // AF_INET6
    expect(b.readUInt16BE(2)).toBe(443);
    expect(b.readUInt32BE(4)).toBe(0); // flowinfo
    expect([...b.subarray(8, 24)]).toEqual([...new Array(15).fill(0), 1]);
    expect(b.readUInt32LE(24)).toBe(0); // scope id
  });

  it.each([
    ['::1', '::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
    ['fe80::1', 'fe80::1'],
    ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
    ['FE80::0001', 'fe80::1'],
    // RFC 5952 4.2.2: a single zero group is not compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // RFC 5952 4.2.3: the longest run is compressed; on a tie, the first
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1::', '1::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('%s decodes as %s (RFC 5952)', (input, canonical) => {
    expect(roundTrip(input)).toEqual({ address: canonical, port: 6001, family: 6 });
  });

  it('any 16 bytes decode to a valid address that encodes back to the same bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 65535 }),
        (bytes, port) => {
          const b = encodeSockAddr('::', port);
          b.set(bytes, 8);
          const d = decodeSockAddr(b);
          expect(isIPv6(d.address)).toBe(true);
          expect(d.port).toBe(port);
          expect(encodeSockAddr(d.address, d.port).equals(b)).toBe(true);
          // canonical form: no leading zeros, lower case, no ":0:0:" left uncompressed
          expect(d.address).not.toMatch(/[A-F]|(^|:)0[0-9a-f]|(^|:)0:0(:|$)/);
        },
      ),
    );
  });

  it('ignores a zone id', () => {
    expect(roundTrip('fe80::1%lo').address).toBe('fe80::1');
  });

  it('formats IPv6 with brackets and IPv4 without', () => {
    expect(formatSockAddr(roundTrip('::1', 80))).toBe('[::1]:80');
    expect(formatSockAddr(roundTrip('127.0.0.1', 80))).toBe('127.0.0.1:80');
  });

  it('refuses a name or a malformed address', () => {
    expect(() => encodeSockAddr('localhost', 80)).toThrow(/not an IP address/);
    expect(() => encodeSockAddr('127.0.0.256', 80)).toThrow(/not an IP address/);
    expect(() => encodeSockAddr('1:2:3:4:5:6:7:8:9', 80)).toThrow(/not an IP address/);
  });
});

describe('errno', () => {
  it('maps names and numbers both ways (Linux numbers)', () => {
    expect(errnoName(98)).toBe('EADDRINUSE');
    expect(errnoName(99)).toBe('EADDRNOTAVAIL');
    expect(errnoName(111)).toBe('ECONNREFUSED');
    expect(errnoName(24)).toBe('EMFILE');
    expect(errnoNumber('EADDRINUSE')).toBe(98);
    expect(errnoNumber('econnrefused')).toBe(111);
    expect(errnoNumber('ENOTHING')).toBeUndefined();
    expect(errnoName(9999)).toBe('E9999');
  });

  it('looks up by name (any case) or number, with one line of meaning', () => {
    const byName = lookupErrno('eaddrnotavail');
    expect(byName).toMatchObject({ name: 'EADDRNOTAVAIL', number: 99, known: true });
    expect(byName.meaning).toMatch(/4-tuple|local address/);
    expect(byName.meaning).not.toContain('\n');
    expect(lookupErrno(98)).toMatchObject({ name: 'EADDRINUSE', number: 98, known: true });
    expect(lookupErrno(' 111 ').name).toBe('ECONNREFUSED');
    expect(lookupErrno('EWHAT').known).toBe(false);
    expect(lookupErrno(9999).known).toBe(false);
  });

  it('has a meaning of its own for the errnos TCP users meet, and a pointer for the rest', () => {
    for (const n of ['EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'EMFILE', 'ETIMEDOUT']) {
      expect(errnoMeaning(n)).not.toBe('see errno(3)');
    }
    expect(errnoMeaning('EXDEV')).toBe('see errno(3)');
    expect(errnoMeaning('ENOPE')).toBe('unknown errno');
  });
});

describe('SyscallError', () => {
  it('reads like Node: syscall, errno name, address, then the meaning', () => {
    const e = new SyscallError('connect', 'EADDRNOTAVAIL', 99, errnoMeaning(99), '127.0.0.1', 6001);
    expect(e.message).toBe(`connect EADDRNOTAVAIL 127.0.0.1:6001 (${errnoMeaning(99)})`);
    expect(e.code).toBe('EADDRNOTAVAIL');
    expect(e.errno).toBe(99);
    expect(e.syscall).toBe('connect');
    expect(e).toBeInstanceOf(Error);
  });

  it('brackets IPv6 and leaves the address out when there is none', () => {
    const m = errnoMeaning('EADDRINUSE');
    expect(new SyscallError('bind', 'EADDRINUSE', 98, m, '::1', 80).message).toBe(
      `bind EADDRINUSE [::1]:80 (${m})`,
    );
    expect(new SyscallError('listen', 'EADDRINUSE', 98, m).message).toBe(
      `listen EADDRINUSE (${m})`,
    );
  });
});
