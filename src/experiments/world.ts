/**
 * Worlds of their own for the experiments that need ports to run out: one fresh network
 * namespace (a one-machine netns lab, removed with the lab) whose namespaced sysctls
 * net.ipv4.ip_local_port_range and net.ipv4.ip_autobind_reuse are set per experiment. Nothing
 * outside the namespace changes. The sysctls are written through /proc/sys from inside the
 * namespace (setns on the main thread, as withNetns does for sockets): /proc/sys/net shows the
 * namespace of the thread that opens it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { SyscallError } from '../errors.js';
import { createLab, type Lab } from '../hosts/lab.js';
import { canUseNetns } from '../hosts/support.js';
import { withNetns } from '../sockets/netns.js';
import { setLocalPortRange } from '../sockets/portrange.js';
import { RawSocket } from '../sockets/socket.js';
import type { Experiment, WorldSpec } from './spec.js';
import type { Step } from './types.js';

/** The first (and in a one-port world the only) ephemeral port of every world. */
export const WORLD_FIRST_PORT = 40000;
/** A fresh namespace's ephemeral range, restored for the per-socket ('socket') experiments. */
export const DEFAULT_PORT_RANGE = [32768, 60999] as const;

const RANGE = '/proc/sys/net/ipv4/ip_local_port_range';
const AUTOBIND = '/proc/sys/net/ipv4/ip_autobind_reuse';

/** The ports a world lets the kernel choose from: [low, high]. */
export function worldRange(w: WorldSpec): [number, number] {
  return [WORLD_FIRST_PORT, WORLD_FIRST_PORT + w.ports - 1];
}

/** The namespace the world experiments share, or why they cannot run here. */
export type WorldHost = { lab: Lab; netnsPath: string } | { skip: string };

/** Opens the world namespace when any chosen experiment needs one (undefined otherwise). */
export async function openWorld(
  chosen: readonly Experiment[],
  signal?: AbortSignal,
): Promise<WorldHost | undefined> {
  if (!chosen.some((e) => e.world)) return undefined;
  const support = await canUseNetns();
  if (!support.ok) return { skip: `needs a network namespace of its own: ${support.reason}` };
  const lab = await createLab({ kind: 'netns', machines: 1, ...(signal ? { signal } : {}) });
  return { lab, netnsPath: lab.machines[0]!.netnsPath! };
}

let perSocketRange: boolean | undefined;

/** Whether this kernel has IP_LOCAL_PORT_RANGE (Linux 6.3+): tried once on a scratch socket. */
export function hasPerSocketRange(): boolean {
  if (perSocketRange !== undefined) return perSocketRange;
  const s = RawSocket.create(4, {});
  try {
    setLocalPortRange(s, WORLD_FIRST_PORT, WORLD_FIRST_PORT);
    perSocketRange = true;
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    perSocketRange = false;
  } finally {
    s.close();
  }
  return perSocketRange;
}

/** Why a world experiment cannot run here, or undefined when it can. */
export function worldSkipReason(e: Experiment, host: WorldHost | undefined): string | undefined {
  if (!e.world) return undefined;
  if (!host) return 'no world namespace was opened';
  if ('skip' in host) return host.skip;
  if (e.world.via === 'socket' && !hasPerSocketRange()) {
    return 'this kernel has no IP_LOCAL_PORT_RANGE (Linux 6.3+); the namespace-wide version runs instead';
  }
  return undefined;
}

/**
 * Sets the world's sysctls inside its namespace and reads them back; the step records both.
 * 'sysctl' narrows the namespace's range; 'socket' restores the default range (each socket then
 * narrows its own).
 */
export function configureWorld(netnsPath: string, w: WorldSpec): Step {
  const [low, high] = w.via === 'sysctl' ? worldRange(w) : DEFAULT_PORT_RANGE;
  const wanted = { range: `${low} ${high}`, autobind: String(w.autobindReuse) };
  const options = [
    `net.ipv4.ip_local_port_range=${wanted.range}`,
    `net.ipv4.ip_autobind_reuse=${wanted.autobind}`,
  ];
  let got: { range: string; autobind: string };
  try {
    got = withNetns(netnsPath, () => {
      writeFileSync(RANGE, `${wanted.range}\n`);
      writeFileSync(AUTOBIND, `${wanted.autobind}\n`);
      return {
        range: readFileSync(RANGE, 'utf8').trim().split(/\s+/).join(' '),
        autobind: readFileSync(AUTOBIND, 'utf8').trim(),
      };
    });
  } catch (err) {
    // an older kernel without ip_autobind_reuse (before 5.9), or a read-only /proc/sys
    const why = err instanceof Error ? err.message : String(err);
    return { socket: 'ns', op: 'sysctl', options, result: 'NOT-SET', detail: why };
  }
  const ok = got.range === wanted.range && got.autobind === wanted.autobind;
  return {
    socket: 'ns',
    op: 'sysctl',
    options,
    result: ok ? 'ok' : 'NOT-SET',
    detail: `read back: ip_local_port_range ${got.range}, ip_autobind_reuse ${got.autobind} (this namespace only)`,
  };
}
