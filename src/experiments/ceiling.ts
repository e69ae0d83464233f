/**
 * The per-destination ceiling, live: in a world of K ports, connect from one source IP to one
 * destination until the kernel refuses, then to the next destination. Each attempt is a socket
 * of its own (C1, C2, ...), played by the steps interpreter, so every bind and connect is a step.
 */

import type { CeilingSpec, ConnectorSpec, ListenerSpec } from './spec.js';
import type { Run } from './steps.js';

/** Outcome key for one destination: "to L1". */
export function ceilingKey(listener: string): string {
  return `to ${listener}`;
}

/** "8 ok, then connect EADDRNOTAVAIL": how many got through, and the refusal that stopped them. */
export function ceilingOutcome(ok: number, refusal?: string): string {
  return refusal ? `${ok} ok, then ${refusal}` : `${ok} ok, never refused`;
}

/**
 * Fills each destination in turn: at most `cap` connections each (a kernel that never refuses
 * is reported as such, not waited on). Records one outcome per destination.
 */
export async function fillCeiling(run: Run, c: CeilingSpec, cap: number): Promise<void> {
  const listeners = new Map(
    (run.experiment.sockets ?? [])
      .filter((s): s is ListenerSpec => s.role === 'listener')
      .map((s) => [s.id, s]),
  );
  let n = 0;
  for (const dest of c.destinations) {
    const l = listeners.get(dest);
    if (!l) throw new Error(`${run.experiment.name}: no listener ${dest} to fill`);
    let ok = 0;
    let refusal: string | undefined;
    while (refusal === undefined && ok < cap) {
      run.signal?.throwIfAborted();
      const id = `C${++n}`;
      const spec: ConnectorSpec = {
        role: 'connector',
        id,
        ...(c.strategy === 'connect' ? {} : { from: { ip: l.at.ip, port: 'kernel' as const } }),
        to: l.at,
        options: c.strategy === 'bind-no-port' ? { bindAddressNoPort: true } : {},
      };
      await run.connector(spec, new Set());
      const o = run.outcomes[id];
      delete run.outcomes[id];
      if (o === 'ok') ok++;
      else refusal = o;
    }
    run.outcomes[ceilingKey(dest)] = ceilingOutcome(ok, refusal);
  }
}
