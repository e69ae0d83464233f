/**
 * Pure parts of the lab: run ids, the names of namespaces and links, address assignment, and
 * parsers for `ip netns list` and `ip -o link` output. No I/O here (unit-tested as functions).
 *
 * Every name fourtuple creates is `ft-<runid>-<role>`, where runid is 6 characters [0-9a-z] and
 * role is `m<k>` (machine k), `br` (the bridge, and its namespace) or `probe` (canUseNetns). The
 * longest, `ft-xxxxxx-m63`, is 13 characters: it fits a Linux interface name (15 at most), so a
 * veth end can carry the same name as the machine it leads to.
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';

export const NAME_PREFIX = 'ft-';
export const RUN_ID_LENGTH = 6;
const RUN_ID_RE = /^[0-9a-z]{6}$/;
/** `ft-<runid>-<role>`; ip prints a veth as `NAME@ifN` or `NAME@PEER`, so `@...` is dropped. */
const NAME_RE = /^ft-([0-9a-z]{6})-(br|probe|m(\d{1,3}))$/;

/** Machines per lab: netns labs are bounded by what finishes in seconds and reads well. */
export const MACHINE_LIMITS = {
  loopback: { min: 1, max: 254 },
  netns: { min: 1, max: 64 },
} as const;

/** The netns lab's addresses: 198.18.0.0/15 is reserved for benchmarking (RFC 2544). */
export const LAB_NETWORK = '198.18.0.0/15';
export const LAB_PREFIX_LENGTH = 16;

export type HostsKind = 'loopback' | 'netns';
export type NameRole = 'machine' | 'bridge' | 'probe';

export interface ParsedName {
  name: string;
  runId: string;
  role: NameRole;
  /** the machine index, for role `machine` */
  index?: number;
}

/** A fresh run id: 6 random characters from [0-9a-z] (36^6, about 2.2e9, ids). */
export function newRunId(random: (n: number) => Uint8Array = randomBytes): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  // 252 = 7 * 36: bytes at or above it are skipped so every character is equally likely.
  let id = '';
  while (id.length < RUN_ID_LENGTH) {
    for (const b of random(RUN_ID_LENGTH * 2)) {
      if (b < 252 && id.length < RUN_ID_LENGTH) id += alphabet[b % 36];
    }
  }
  return id;
}

export function isRunId(text: string): boolean {
  return RUN_ID_RE.test(text);
}

/** The namespace (and bridge-side veth) name of machine `index`: `ft-<runid>-m<index>`. */
export function machineNetnsName(runId: string, index: number): string {
  return `${NAME_PREFIX}${runId}-m${index}`;
}

/** The bridge's name, and the name of the namespace it lives in: `ft-<runid>-br`. */
export function bridgeName(runId: string): string {
  return `${NAME_PREFIX}${runId}-br`;
}

export function probeName(runId: string): string {
  return `${NAME_PREFIX}${runId}-probe`;
}

/** Recognises one of our names; undefined for anything else (never touch what is not ours). */
export function parseName(raw: string): ParsedName | undefined {
  const name = raw.split('@')[0] ?? '';
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  const runId = m[1]!;
  if (m[2] === 'br') return { name, runId, role: 'bridge' };
  if (m[2] === 'probe') return { name, runId, role: 'probe' };
  return { name, runId, role: 'machine', index: Number(m[3]) };
}

/** The address of machine `index` (0-based): 127.0.0.(k+1) on loopback, 198.18.0.(k+1) in netns. */
export function machineAddress(kind: HostsKind, index: number): string {
  const limit = MACHINE_LIMITS[kind].max;
  if (!Number.isInteger(index) || index < 0 || index >= limit) {
    throw new InvalidOptionError('index', `an integer from 0 to ${limit - 1}`, String(index));
  }
  return kind === 'loopback' ? `127.0.0.${index + 1}` : `198.18.0.${index + 1}`;
}

/** True for an IPv4 address inside 198.18.0.0/15 (198.18.x.x or 198.19.x.x). */
export function inLabNetwork(address: string): boolean {
  const m = /^198\.(18|19)\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  return m !== null && Number(m[2]) <= 255 && Number(m[3]) <= 255;
}

/**
 * Names from `ip netns list`. Each line is `NAME` or `NAME (id: N)` (the id appears once the
 * namespace has a peer in another namespace).
 */
export function parseNetnsList(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/**
 * Link names from `ip -o link show`: lines like `4: eth0: <...> mtu ...` or
 * `7: ft-abc123-m0@if2: <...>`. The `@peer` suffix is dropped.
 */
export function parseLinkNames(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^\d+:\s+([^:\s]+):/.exec(line);
    if (m) names.push(m[1]!.split('@')[0]!);
  }
  return names;
}

/** Where ip(8) keeps named network namespaces. */
export const NETNS_DIR = '/run/netns';
