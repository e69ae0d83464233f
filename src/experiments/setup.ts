/**
 * What the experiments run on: their block of ports (P..P+PORT_SPAN, given or found) and, for
 * `hosts: 'netns'`, a lab of three machines that reach one another before anything is measured.
 */
import { FourtupleError, InvalidOptionError, SyscallError } from '../errors.js';
import { createLab, type Lab } from '../hosts/lab.js';
import { busyPorts, findFreePorts, LOWEST_UNPRIVILEGED_PORT } from '../hosts/ports.js';
import { withNetns } from '../sockets/netns.js';
import { RawSocket } from '../sockets/socket.js';
import { type Experiment, PORT_SPAN } from './catalogue.js';
import type { HostsMode } from './types.js';

/**
 * The base ports the demo accepts: P..P+PORT_SPAN must be real ports, from 1024 (below it bind()
 * needs privilege; see LOWEST_UNPRIVILEGED_PORT) to 65535. The CLI states and checks this range.
 */
export const BASE_PORT_RANGE = { min: LOWEST_UNPRIVILEGED_PORT, max: 65535 - PORT_SPAN } as const;

/**
 * The experiments' base port: `basePort` when P..P+PORT_SPAN are all free on every address
 * (InvalidOptionError out of BASE_PORT_RANGE, FOURTUPLE_PORTS_BUSY when one is held), or else
 * a free block found below the ephemeral range.
 */
export function chooseBasePort(basePort?: number): number {
  if (basePort === undefined) return findFreePorts(PORT_SPAN + 1);
  const { min, max } = BASE_PORT_RANGE;
  if (!Number.isInteger(basePort) || basePort < min || basePort > max) {
    throw new InvalidOptionError('basePort', `an integer from ${min} to ${max}`, String(basePort));
  }
  const busy = busyPorts(basePort, PORT_SPAN + 1);
  if (busy.length) {
    const many = busy.length > 1;
    throw new FourtupleError(
      'FOURTUPLE_PORTS_BUSY',
      `port${many ? 's' : ''} ${busy.join(', ')} already in use (a socket or a TIME_WAIT holds ${many ? 'them' : 'it'}); choose another base port or leave it out`,
    );
  }
  return basePort;
}

/**
 * The lab for `hosts: 'netns'` when any chosen experiment spans machines (undefined otherwise):
 * three namespaces, each reaching the others (checked on `probePort`). Removed on failure.
 */
export async function openLab(
  hosts: HostsMode,
  chosen: readonly Experiment[],
  probePort: number,
  signal?: AbortSignal,
): Promise<Lab | undefined> {
  if (hosts !== 'netns' || !chosen.some((e) => e.multiHost)) return undefined;
  const lab = await createLab({ kind: 'netns', machines: 3, ...(signal ? { signal } : {}) });
  try {
    await waitReachable(lab, probePort, signal);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

/**
 * Waits until every machine of a fresh netns lab reaches every other: a connect to a port where
 * nothing listens is answered with an RST (ECONNREFUSED) once the veths have carrier and ARP
 * works. Right after creation the first SYNs can be lost (about a second here), and a lost SYN
 * would show up as an ETIMEDOUT that has nothing to do with the experiment.
 */
async function waitReachable(lab: Lab, port: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (const from of lab.machines) {
    for (const to of lab.machines) {
      if (from === to) continue;
      for (;;) {
        signal?.throwIfAborted();
        const s = withNetns(from.netnsPath, () => RawSocket.create(4, {}));
        try {
          await s.connect(to.address, port, { timeoutMs: 300, ...(signal ? { signal } : {}) });
          break; // something answered: reachable
        } catch (err) {
          if (err instanceof SyscallError && err.code === 'ECONNREFUSED') break;
          if (!(err instanceof SyscallError) || Date.now() > deadline) {
            throw new FourtupleError(
              'FOURTUPLE_LAB_UNREACHABLE',
              `netns lab ${lab.runId}: ${from.name} (${from.address}) cannot reach ${to.name} (${to.address}): ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
          }
        } finally {
          s.closeReset();
        }
      }
    }
  }
}
