/**
 * struct sockaddr_in / sockaddr_in6 to and from bytes, by hand: a Buffer is passed straight to
 * the kernel, with no per-call marshalling.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { constants } from './platform.js';

export interface SockAddr {
  address: string;
  port: number;
  family: 4 | 6;
}

function ipv6ToBytes(address: string, out: Buffer, offset: number): void {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:127.0.0.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, -v4[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups =
    tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++)
    out.writeUInt16BE(Number.parseInt(groups[i] ?? '0', 16), offset + i * 2);
}

function bytesToIpv6(buf: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  // ::ffff:a.b.c.d (IPv4-mapped)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${buf[offset + 12]}.${buf[offset + 13]}.${buf[offset + 14]}.${buf[offset + 15]}`;
  }
  // RFC 5952: compress the longest run (>= 2) of zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Encodes an address into a new sockaddr buffer; returns it with its length. */
export function encodeSockAddr(address: string, port: number): Buffer {
  const c = constants();
  if (isIPv4(address)) {
    const buf = Buffer.alloc(c.SOCKADDR_IN_SIZE);
    buf.writeUInt16LE(c.AF_INET, 0);
    buf.writeUInt16BE(port, 2);
    const parts = address.split('.');
    for (let i = 0; i < 4; i++) buf[4 + i] = Number(parts[i]);
    return buf;
  }
  if (isIPv6(address)) {
    const buf = Buffer.alloc(c.SOCKADDR_IN6_SIZE);
    buf.writeUInt16LE(c.AF_INET6, 0);
    buf.writeUInt16BE(port, 2);
    ipv6ToBytes(address, buf, 8);
    return buf;
  }
  throw new TypeError(`not an IP address: ${address}`);
}

/** Decodes a sockaddr buffer filled by the kernel (getsockname, accept4). */
export function decodeSockAddr(buf: Buffer): SockAddr {
  const c = constants();
  const family = buf.readUInt16LE(0);
  const port = buf.readUInt16BE(2);
  if (family === c.AF_INET) {
    return { address: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port, family: 4 };
  }
  if (family === c.AF_INET6) return { address: bytesToIpv6(buf, 8), port, family: 6 };
  throw new TypeError(`unknown address family ${family}`);
}

/** 127.0.0.1:6000 or [::1]:6000 */
export function formatSockAddr(a: SockAddr): string {
  return a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
