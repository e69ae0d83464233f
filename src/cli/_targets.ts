/**
 * Destination flags (connect --to, max --target) under the target policy: the text is parsed,
 * a name is resolved once, and every address it resolves to must be loopback or a host of one
 * of our labs, unless --allow-remote. A refusal is bad input (exit 2), before any socket exists.
 */

import { openConnection } from '../endpoints/connector.js';
import { UsageError } from '../errors.js';
import { listLabs } from '../hosts/lab.js';
import { parseName } from '../hosts/names.js';
import { netnsId, selfNetnsId } from '../hosts/occupants.js';
import { ourNamespaces } from '../hosts/teardown.js';
import { resolveTargets } from '../policy/targets.js';
import { type HostPort, parseTargetHostPort } from './_args.js';
import type { Spec } from './_spec.js';

export const ALLOW_REMOTE_OPTION = {
  'allow-remote': {
    type: 'boolean',
    description: 'allow a destination that is neither loopback nor a host of a fourtuple lab',
  },
} as const satisfies Spec;

/** What a destination flag accepts (its shape; the policy is applied when it is resolved). */
export const TARGET_ACCEPTS = 'IP:PORT, [IPv6]:PORT or NAME:PORT with a port from 1 to 65535';

/** A destination's text, checked for shape only: the command resolves it last. */
export function targetText(text: string, flag: string): string {
  parseTargetHostPort(flag, text);
  return text;
}

/** A comma-separated list of 1 to 64 destinations, each checked for shape (resolved later). */
export function targetList(text: string, flag: string): string[] {
  const items = text.split(',').map((t) => targetText(t.trim(), flag));
  if (items.length > 64) {
    throw new UsageError(`--${flag} takes 1 to 64 listeners (got ${items.length})`, flag);
  }
  return items;
}

/**
 * The lab machine whose namespace this process is already in (`ip netns exec ft-<run>-m<k>
 * fourtuple ...`): its namespace's nsfs inode is the one /proc/self/ns/net names.
 */
async function labMachineHere(): Promise<string | undefined> {
  const self = selfNetnsId();
  if (self === undefined) return undefined;
  const machines = (await ourNamespaces()).filter((n) => n.role === 'machine');
  return machines.find((n) => netnsId(n.name) === self)?.name;
}

/**
 * The lab hosts a socket created in `netnsPath` may reach: the machines of the lab that
 * namespace belongs to. Without `netnsPath`, the socket is created where this process is: when
 * that is one of our lab machines (entered with `ip netns exec`), its lab's machines. From
 * anywhere else (the root namespace, another namespace) none: a lab's addresses are routed only
 * on its own bridge, and from the root namespace 198.18.0.0/15 would follow the default route
 * off this machine.
 */
export async function labAddressesFrom(netnsPath: string | undefined): Promise<string[]> {
  try {
    const here = netnsPath ? netnsPath.split('/').pop() : await labMachineHere();
    const name = parseName(here ?? '');
    if (name?.role !== 'machine') return [];
    const lab = (await listLabs()).find((l) => l.runId === name.runId);
    return lab ? lab.machines.map((m) => m.address) : [];
  } catch {
    return [];
  }
}

export interface ResolvedFlag extends HostPort {
  /** the lab addresses the check allowed from where the socket lives (often none) */
  labAddresses: readonly string[];
  /**
   * every address the name resolved to, each allowed by the policy, `host` first (for an IP
   * literal, just it)
   */
  addresses: readonly string[];
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/**
 * Parses IP:PORT, [IPv6]:PORT or NAME:PORT, resolves a name once and applies the target
 * policy to every address, for a socket created in `netnsPath` (default: this namespace).
 * Returns the first address (of family `prefer` when it has one) as `host`, and every address
 * (host first) for a caller that tries each in turn (connect).
 */
export async function resolveTargetAddresses(
  flag: string,
  text: string,
  allowRemote: boolean,
  prefer?: 4 | 6,
  netnsPath?: string,
): Promise<ResolvedFlag> {
  const t = parseTargetHostPort(flag, text);
  let outcome: Awaited<ReturnType<typeof resolveTargets>>;
  let loaded: readonly string[] = [];
  try {
    outcome = await resolveTargets(t.host, {
      allowRemote,
      loadLabAddresses: async () => {
        loaded = await labAddressesFrom(netnsPath);
        return loaded;
      },
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'ENOTFOUND';
    throw new UsageError(`--${flag}: cannot resolve "${t.host}" (${code})`, flag);
  }
  if (!outcome.ok) {
    const r = outcome.refused[0]!;
    const via =
      r.address === t.host ? '' : ` (${t.host} resolves to ${outcome.addresses.join(', ')})`;
    throw new UsageError(`--${flag} ${r.address} refused: ${r.reason}${via}`, flag);
  }
  const all = outcome.target.addresses;
  const address = all.find((a) => familyOf(a) === prefer) ?? all[0]!;
  const family = familyOf(address);
  return {
    host: address,
    port: t.port,
    family,
    labAddresses: loaded,
    addresses: [address, ...all.filter((a) => a !== address)],
  };
}

/** True when a plain connection to host:port is accepted within a second (then closed). */
async function accepts(host: string, port: number, netnsPath?: string): Promise<boolean> {
  try {
    const c = await openConnection({
      to: { host, port },
      timeoutMs: 1000,
      ...(netnsPath ? { netnsPath } : {}),
    });
    c.socket.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * As resolveTargetAddresses, for a consumer that takes one address (max --target): when a name
 * resolves to several, `host` is the first that accepts a test connection (one connection,
 * closed at once), as Node's autoSelectFamily would pick; when none does, the first.
 */
export async function resolveTargetFlag(
  flag: string,
  text: string,
  allowRemote: boolean,
  prefer?: 4 | 6,
  netnsPath?: string,
): Promise<ResolvedFlag> {
  const r = await resolveTargetAddresses(flag, text, allowRemote, prefer, netnsPath);
  if (r.addresses.length < 2) return r;
  for (const host of r.addresses) {
    if (await accepts(host, r.port, netnsPath)) {
      return {
        ...r,
        host,
        family: familyOf(host),
        addresses: [host, ...r.addresses.filter((a) => a !== host)],
      };
    }
  }
  return r;
}
