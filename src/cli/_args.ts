/**
 * Flag validation. Every failure is a UsageError whose one-line message names the flag and the
 * accepted range, so the CLI can print it and exit 2.
 */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

/** Human form of a large bound: 10^40 rather than forty zeros. */
export function showBound(v: bigint): string {
  const s = v.toString();
  if (s.length > 7 && /^10*$/.test(s)) return `10^${s.length - 1}`;
  return s;
}

export interface IntRange {
  min: bigint;
  max: bigint;
  /** a word also accepted (auto), named in the message */
  or?: string;
}

/** Parses a decimal integer (digits only; 1e3 and 0x10 are refused) within [min, max]. */
export function parseBigIntFlag(flag: string, text: string, range: IntRange): bigint {
  const t = text.trim().replaceAll('_', '');
  const describe = `--${flag} must be an integer from ${showBound(range.min)} to ${showBound(range.max)}${range.or ? `, or ${range.or}` : ''}`;
  if (!/^-?\d+$/.test(t) || t.length > 200)
    throw new UsageError(`${describe} (got "${text}")`, flag);
  const v = BigInt(t);
  if (v < range.min || v > range.max) throw new UsageError(`${describe} (got ${text})`, flag);
  return v;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses 500ms, 5s, 2m, 1h or a bare number of seconds into milliseconds. */
export function parseDuration(flag: string, text: string, minMs: number, maxMs: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const describe = `--${flag} must be a duration from ${minMs}ms to ${maxMs / 1000}s (e.g. 500ms, 5s, 2m)`;
  if (!m) throw new UsageError(`${describe} (got "${text}")`, flag);
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000);
  if (!(ms >= minMs && ms <= maxMs)) throw new UsageError(`${describe} (got ${text})`, flag);
  return Math.round(ms);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parses 512M, 2G, 1.5GiB or a bare byte count (binary units). */
export function parseSize(flag: string, text: string, minBytes: number, maxBytes: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  const describe = `--${flag} must be a size from ${minBytes} bytes to ${maxBytes / 1024 ** 3}G (e.g. 512M, 2G)`;
  if (!m || unit === undefined) throw new UsageError(`${describe} (got "${text}")`, flag);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!(bytes >= minBytes && bytes <= maxBytes))
    throw new UsageError(`${describe} (got ${text})`, flag);
  return bytes;
}

/** HOST:PORT or [HOST]:PORT split into [_, host, port digits], or null. */
function splitHostPort(text: string): RegExpExecArray | null {
  return /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
}

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

/**
 * Parses IP:PORT or [IPv6]:PORT (a literal address, not a name). Port 0 is accepted only when
 * `allowZero` (a source address where the kernel picks the port).
 */
export function parseHostPort(flag: string, text: string, allowZero = false): HostPort {
  const m = splitHostPort(text);
  const min = allowZero ? 0 : 1;
  const describe = `--${flag} must be IP:PORT or [IPv6]:PORT with a port from ${min} to 65535`;
  if (!m) throw new UsageError(`${describe} (got "${text}")`, flag);
  const host = m[1]!;
  const family = isIP(host);
  if (family === 0) throw new UsageError(`${describe}; "${host}" is not an IP address`, flag);
  const port = Number(m[2]);
  if (port < min || port > 65535) throw new UsageError(`${describe} (got ${port})`, flag);
  return { host, port, family: family as 4 | 6 };
}

/** A host name as DNS allows it: dot-separated labels of letters, digits and hyphens. */
const HOST_NAME_RE =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export interface TargetHostPort {
  /** an IP literal, or a host name still to be resolved */
  host: string;
  port: number;
  /** 4 or 6 for an IP literal, 0 for a name */
  family: 0 | 4 | 6;
}

/**
 * Parses a destination: IP:PORT, [IPv6]:PORT or NAME:PORT (port 1 to 65535). A name is only
 * checked for shape here; the caller resolves it once and applies the target policy.
 */
export function parseTargetHostPort(flag: string, text: string): TargetHostPort {
  const m = splitHostPort(text);
  const describe = `--${flag} must be IP:PORT, [IPv6]:PORT or NAME:PORT with a port from 1 to 65535`;
  if (!m) throw new UsageError(`${describe} (got "${text}")`, flag);
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`${describe} (got ${port})`, flag);
  const family = isIP(host);
  if (family !== 0) return { host, port, family: family as 4 | 6 };
  // Bracketed, all digits and dots (127.0.0.256, 127.1), or not a DNS name: malformed.
  if (text.startsWith('[') || /^[\d.]+$/.test(host) || !HOST_NAME_RE.test(host)) {
    throw new UsageError(`${describe}; "${host}" is not an IP address or a host name`, flag);
  }
  return { host, port, family: 0 };
}

/** A literal IPv4 or IPv6 address. */
export function parseIp(flag: string, text: string): { host: string; family: 4 | 6 } {
  const family = isIP(text);
  if (family === 0) {
    throw new UsageError(`--${flag} must be an IPv4 or IPv6 address (got "${text}")`, flag);
  }
  return { host: text, family: family as 4 | 6 };
}
