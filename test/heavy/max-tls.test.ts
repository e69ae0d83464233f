/**
 * `max --tls` past one process per side: 12,000 TLS connections need two servers and two
 * clients (10,000 each at most). Every one is handshaken, held, echoed and reset; the source
 * ports the clients' raw layer bound are the ones the servers saw, across processes; each side's
 * CPU and memory come from its own two processes. 41 s on this 2-core machine when it was
 * quiet; a few minutes when it is busy (100-150 handshakes/s).
 */
import { describe, expect, it } from 'vitest';
import type { MaxResult } from '../../src/scale/coordinator.js';
import { cli } from '../helpers/cli.js';

const N = 12_000;

describe('max --tls over several processes per side', () => {
  it(`${N} TLS connections over 2 servers and 2 clients: all echoed, the ports matching`, async () => {
    const out = await cli(['max', '--tls', '-n', String(N), '--hold', '1s', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const r = JSON.parse(out.stdout) as MaxResult;
    const t = r.tls!;
    expect(r.alive).toBe(N);
    expect(t.run.server.processes).toBe(2);
    expect(t.run.client.processes).toBe(2);
    expect(t.ports).toEqual({ checked: N, match: true });
    expect(t.run.server.pssBytesPerConnection).toBeGreaterThan(
      t.baseline!.server.pssBytesPerConnection,
    );
    expect(t.run.client.cpuUsPerHandshake).toBeGreaterThan(t.baseline!.client.cpuUsPerHandshake);
  }, 600_000);
});
