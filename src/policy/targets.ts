/**
 * The target policy: where fourtuple may send traffic. Loopback (127.0.0.0/8, ::1, and
 * 127.x written as an IPv4-mapped IPv6 address) and the hosts of fourtuple's own labs are
 * allowed; anything else is refused, with the reason, unless the user allowed remote targets.
 *
 * `checkTargets` is pure (address strings in, verdicts out). `resolveTargets` resolves a name
 * once and applies the policy to every address it resolves to, so a name that resolves to
 * loopback and to somewhere else is refused as a whole.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { TargetRefusedError } from '../errors.js';

const LAB_NETWORK_TEXT = '198.18.0.0/15';

export interface TargetPolicyOptions {
  /** allow any address (the user passed --allow-remote) */
  allowRemote: boolean;
  /**
   * addresses of lab hosts reachable from where the socket is created: the machines of the lab
   * whose namespace it is in (none from the root namespace, where 198.18.0.0/15 is not ours)
   */
  labAddresses?: readonly string[];
}

export interface RefusedTarget {
  address: string;
  /** one line: why the address is refused */
  reason: string;
}

export interface TargetCheck {
  /** the allowed addresses, in the order given */
  allowed: string[];
  refused: RefusedTarget[];
}

interface Parsed {
  family: 4 | 6;
  /** the address as a number: 32 bits for IPv4, 128 for IPv6 */
  value: bigint;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(text: string): bigint | undefined {
  let t = text;
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:127.0.0.1) stands for the last two groups.
  const lastColon = t.lastIndexOf(':');
  const tail = t.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    if (v4 === undefined) return undefined;
    t = `${t.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(`0x${g}`);
  }
  return v;
}

/**
 * Parses an IP literal to a number. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is read as
 * the IPv4 address it carries: the kernel sends its traffic there.
 */
function parseAddress(text: string): Parsed | undefined {
  const family = isIP(text);
  if (family === 4) {
    const v = parseV4(text);
    return v === undefined ? undefined : { family: 4, value: v };
  }
  if (family === 6) {
    const v = parseV6(text);
    if (v === undefined) return undefined;
    if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  return undefined;
}

function key(p: Parsed): string {
  return `${p.family}/${p.value}`;
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopbackAddress(address: string): boolean {
  const p = parseAddress(address);
  if (!p) return false;
  return p.family === 4 ? p.value >> 24n === 127n : p.value === 1n;
}

function refusal(address: string, p: Parsed | undefined, labs: Set<string>): string {
  if (!p) return 'not an IP address';
  const mapped = p.family === 4 && address.includes(':') ? ' (an IPv4-mapped address)' : '';
  if (p.value === 0n) {
    return `the unspecified address${mapped}, not a host; use 127.0.0.1 or ::1`;
  }
  if (p.family === 4 && p.value >> 17n === (198n << 7n) + 9n) {
    return labs.size === 0
      ? `in the lab network ${LAB_NETWORK_TEXT}${mapped}: a lab host is reached only from inside its lab (connect --host-ns ft-<run>-m<k>, or under \`ip netns exec ft-<run>-m<k>\`; see \`fourtuple hosts list\`); from here it would leave this machine`
      : `in the lab network ${LAB_NETWORK_TEXT}${mapped} but not a host of the lab this socket is in`;
  }
  return `not loopback (127.0.0.0/8 or ::1) nor a host of a fourtuple lab${mapped}; fourtuple sends traffic elsewhere only with --allow-remote`;
}

/**
 * Applies the target policy to IP address literals. Pure: no I/O, no name resolution (a name
 * is refused as "not an IP address"; resolve it first with resolveTargets).
 */
export function checkTargets(
  addresses: readonly string[],
  options: TargetPolicyOptions,
): TargetCheck {
  const labs = new Set<string>();
  for (const a of options.labAddresses ?? []) {
    const p = parseAddress(a);
    if (p) labs.add(key(p));
  }
  const allowed: string[] = [];
  const refused: RefusedTarget[] = [];
  for (const address of addresses) {
    const p = parseAddress(address);
    const ok =
      p !== undefined && (options.allowRemote || isLoopbackAddress(address) || labs.has(key(p)));
    if (ok) allowed.push(address);
    else refused.push({ address, reason: refusal(address, p, labs) });
  }
  return { allowed, refused };
}

/**
 * Throws TargetRefusedError for the first address the policy refuses. The library functions
 * that send traffic (heartbeat, runMax) call this, so the policy holds without the CLI too.
 */
export function assertTargetsAllowed(
  addresses: readonly string[],
  options: TargetPolicyOptions,
): void {
  const first = checkTargets(addresses, options).refused[0];
  if (first) throw new TargetRefusedError(first.address, first.reason);
}

/** True when some address is neither loopback nor one of `labAddresses`. */
export function anyRemote(
  addresses: readonly string[],
  labAddresses: readonly string[] = [],
): boolean {
  return checkTargets(addresses, { allowRemote: false, labAddresses }).refused.length > 0;
}

export type LookupAll = (host: string) => Promise<readonly { address: string; family: number }[]>;

export interface ResolveTargetsOptions extends TargetPolicyOptions {
  /** resolves a name to every address; default dns.lookup(host, { all: true }) */
  lookup?: LookupAll;
  /**
   * Called only when an address is neither loopback nor allowed by allowRemote, to read the
   * addresses of our labs (listing labs runs `ip`, so it is done only when needed).
   */
  loadLabAddresses?: () => Promise<readonly string[]>;
}

export interface ResolvedTarget {
  /** what the user wrote */
  host: string;
  /** every address it resolved to (the literal itself for an IP literal) */
  addresses: string[];
  /** true when `host` was a name, not an IP literal */
  resolved: boolean;
}

export type ResolveOutcome =
  | { ok: true; target: ResolvedTarget }
  | { ok: false; host: string; addresses: string[]; refused: RefusedTarget[] };

const defaultLookup: LookupAll = (host) => dnsLookup(host, { all: true });

/**
 * Resolves `host` once (an IP literal resolves to itself) and applies the policy to every
 * address. Rejects only when the name cannot be resolved (the lookup's own error).
 */
export async function resolveTargets(
  host: string,
  options: ResolveTargetsOptions,
): Promise<ResolveOutcome> {
  const literal = isIP(host) !== 0;
  const addresses = literal
    ? [host]
    : [...new Set((await (options.lookup ?? defaultLookup)(host)).map((a) => a.address))];
  let labAddresses = options.labAddresses;
  if (
    !options.allowRemote &&
    labAddresses === undefined &&
    options.loadLabAddresses &&
    addresses.some((a) => !isLoopbackAddress(a))
  ) {
    labAddresses = await options.loadLabAddresses();
  }
  const check = checkTargets(addresses, {
    allowRemote: options.allowRemote,
    ...(labAddresses ? { labAddresses } : {}),
  });
  if (addresses.length === 0) {
    return {
      ok: false,
      host,
      addresses,
      refused: [{ address: host, reason: 'resolves to no address' }],
    };
  }
  if (check.refused.length > 0) return { ok: false, host, addresses, refused: check.refused };
  return { ok: true, target: { host, addresses, resolved: !literal } };
}
