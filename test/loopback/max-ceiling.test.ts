/**
 * `max --target` says before the run when one source IP cannot reach the count asked of one
 * destination (the ephemeral range per destination), instead of stopping at EADDRNOTAVAIL unsaid.
 */
import { describe, expect, it } from 'vitest';
import { ephemeralPortRange } from '../../src/limits/procfs.js';
import { cliProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

describe('max --target and the per-destination ceiling', () => {
  it('asked for more than the ephemeral range to one destination: a warning first, with the ways past it', async () => {
    const range = ephemeralPortRange();
    // nothing listens there: the run stops at once (ECONNREFUSED), after the warning
    const port = await freePort();
    const asked = range.size + 1000;
    const r = cliProcess([
      'max',
      '--target',
      `127.0.0.1:${port}`,
      '--connections',
      String(asked),
      '--hold',
      '0s',
    ]);
    expect(r.stderr).toContain(
      `fourtuple max: warning: ${asked} connections asked, but 1 source IP to 1 destination ip:port hold at most ${range.size} at once`,
    );
    expect(r.stderr).toMatch(/add destination ports or listeners/);
    // two destinations hold twice as many: no warning
    const two = cliProcess([
      'max',
      '--target',
      `127.0.0.1:${port},127.0.0.2:${port}`,
      '--connections',
      String(asked),
      '--hold',
      '0s',
    ]);
    expect(two.stderr).not.toMatch(/warning/);
  });
});
