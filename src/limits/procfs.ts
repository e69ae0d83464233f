/**
 * Reading kernel settings from /proc. Every reader returns where its figure came from, so a
 * user can check it by hand (`sysctl -n net.ipv4.ip_local_port_range`).
 */
import { readFileSync } from 'node:fs';

/** The sysctl name for a /proc/sys path: /proc/sys/net/ipv4/x -> net.ipv4.x */
export function sysctlName(path: string): string {
  return path.replace(/^\/proc\/sys\//, '').replaceAll('/', '.');
}

/** A /proc/sys file's trimmed text, or undefined when it does not exist or cannot be read. */
export function readProcText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface PortRange {
  low: number;
  high: number;
  /** ports in the range, high - low + 1 */
  size: number;
  /** where the figure came from: a /proc path, or 'IANA default (RFC 6335)' */
  source: string;
}

export const EPHEMERAL_RANGE_PATH = '/proc/sys/net/ipv4/ip_local_port_range';

/** The IANA dynamic port range, used when the kernel's cannot be read. */
export const IANA_EPHEMERAL: Readonly<PortRange> = {
  low: 49152,
  high: 65535,
  size: 65535 - 49152 + 1,
  source: 'IANA default (RFC 6335)',
};

/** Parses "32768\t60999" into a range; undefined when malformed. */
export function parsePortRange(text: string, source: string): PortRange | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const low = Number(m[1]);
  const high = Number(m[2]);
  if (!(low >= 1 && high <= 65535 && low <= high)) return undefined;
  return { low, high, size: high - low + 1, source };
}

/** This machine's ephemeral (local) port range, or the IANA default when it cannot be read. */
export function ephemeralPortRange(path = EPHEMERAL_RANGE_PATH): PortRange {
  const text = readProcText(path);
  return (text !== undefined && parsePortRange(text, path)) || { ...IANA_EPHEMERAL };
}
