/**
 * Which processes are inside a network namespace, as `ip netns pids NAME` finds them: a process
 * is in the namespace whose nsfs inode /proc/PID/ns/net names. `/run/netns/NAME` is a bind mount
 * of that inode, so comparing (device, inode) pairs tells without entering the namespace. The same
 * comparison tells whether this process is itself inside one of our labs (`selfNetnsId`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NETNS_DIR } from './names.js';

/** A namespace's identity: "device:inode" of its nsfs inode. */
export type NetnsId = string;

function idOf(path: string): NetnsId | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/** The identity of the named namespace (`/run/netns/NAME`), or undefined when it is gone. */
export function netnsId(name: string): NetnsId | undefined {
  return idOf(join(NETNS_DIR, name));
}

/** The identity of the network namespace this process is in. */
export function selfNetnsId(): NetnsId | undefined {
  return idOf('/proc/self/ns/net');
}

/** A process found inside a namespace: its pid and command name. */
export interface Occupant {
  pid: number;
  comm: string;
  netns: string;
}

/**
 * The processes inside the namespaces `names` (this process excluded): one scan of /proc, as
 * `ip netns pids` does for one name.
 */
export function occupantsOf(names: readonly string[]): Occupant[] {
  const byId = new Map<NetnsId, string>();
  for (const name of names) {
    const id = netnsId(name);
    if (id !== undefined) byId.set(id, name);
  }
  if (byId.size === 0) return [];
  const found: Occupant[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const netns = byId.get(idOf(`/proc/${entry}/ns/net`) ?? '');
    if (netns === undefined) continue;
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      // it exited meanwhile: still counted, it was there
    }
    found.push({ pid: Number(entry), comm, netns });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** "pid 123 (node) in ft-abc123-m0, ..." */
export function describeOccupants(occupants: readonly Occupant[]): string {
  return occupants.map((o) => `pid ${o.pid} (${o.comm}) in ${o.netns}`).join(', ');
}
