/**
 * Destination flags (connect --to, max --target) under the target policy: the text is parsed,
 * a name is resolved once, and every address it resolves to must be loopback or a host of one
 * of our labs, unless --allow-remote. A refusal is bad input (exit 2), before any socket exists.
 */
import { UsageError } from '../errors.js';
import { listLabs } from '../hosts/lab.js';
import { parseName } from '../hosts/names.js';
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
 * The lab hosts a socket created in `netnsPath` may reach: the machines of the lab that
 * namespace belongs to. From anywhere else (the root namespace, another namespace) none: a lab's
 * addresses are routed only on its own bridge, and from the root namespace 198.18.0.0/15 would
 * follow the default route off this machine.
 */
export async function labAddressesFrom(netnsPath: string | undefined): Promise<string[]> {
  if (!netnsPath) return [];
  const name = parseName(netnsPath.split('/').pop() ?? '');
  if (name?.role !== 'machine') return [];
  try {
    const lab = (await listLabs()).find((l) => l.runId === name.runId);
    return lab ? lab.machines.map((m) => m.address) : [];
  } catch {
    return [];
  }
}

export interface ResolvedFlag extends HostPort {
  /** the lab addresses the check allowed from where the socket lives (often none) */
  labAddresses: readonly string[];
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/**
 * Parses IP:PORT, [IPv6]:PORT or NAME:PORT, resolves a name once and applies the target
 * policy to every address, for a socket created in `netnsPath` (default: this namespace).
 * Returns the first address (of family `prefer` when it has one).
 */
export async function resolveTargetFlag(
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
  };
}
