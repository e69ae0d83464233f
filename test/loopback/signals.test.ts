/**
 * SIGINT and SIGTERM in the middle of `fourtuple prove` and `fourtuple demo` (the tour's own
 * are in test/heavy/signals-tour.test.ts), each
 * run as the built CLI: it exits 130 (SIGINT) or 143 (SIGTERM) within 5 s (the product's
 * promise), says "interrupted" (so the abort path ran, not a normal end), and leaves nothing
 * behind: no process it started (recorded while it ran, checked by pid and start time), no
 * socket on its ports in any state (ss; TIME_WAIT included), sockstat back to where it was, no
 * lab of its own.
 *
 * Mid-run is made sure of, not hoped for: prove is signalled once it holds 2,000 descriptors
 * (it needs 16,000 for 4 x 32); the tour once its max workers hold sockets, or a second after
 * its first output; the demo, which takes about 150 ms, is frozen with SIGSTOP after its first
 * experiment, checked unfinished, and thawed with the signal queued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnCli } from '../helpers/child.js';
import { freePortBlock } from '../helpers/ports.js';
import { fdCount, freeze, sockstat, thawWith, until, watchDescendants } from '../helpers/procs.js';
import { EXIT_BOUND_MS, expectNothingLeft, interrupt, SIGNALS } from '../helpers/signals.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-signals-'));
afterEach(killAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signals on loopback', () => {
  it.each(SIGNALS)(
    'prove --machines 4 --ports 32, %s while connecting: exits %i within 5 s, nothing left',
    async (sig, code) => {
      const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
      const base = freePortBlock(32, hosts);
      const before = sockstat();
      const child = spawnCli([
        'prove',
        '--machines',
        '4',
        '--ports',
        '32',
        '--base-port',
        String(base),
      ]);
      const watch = watchDescendants(child.pid);
      // 128 listeners, then 8,256 connections of two sockets each: 2,000 descriptors is mid-way
      await until('prove to hold 2,000 descriptors', () => fdCount(child.pid) >= 2000, {
        child,
        stepMs: 5,
      });
      const r = await interrupt(child, sig);
      const seen = watch.stop();
      console.log(`prove 4x32 ${sig}: exited ${r.code} in ${r.ms} ms`);
      expect(r.ms).toBeLessThan(EXIT_BOUND_MS);
      expect(r.code).toBe(code);
      expect(child.stderr()).toBe('fourtuple prove: interrupted\n');
      expect(child.lines.join('')).toBe(''); // no result: it did not finish
      await expectNothingLeft(child, seen, { ports: [[base, base + 31]], before });
    },
  );

  it.each(SIGNALS)(
    'demo, %s after its first experiment: exits %i within 5 s, nothing left',
    async (sig, code) => {
      const before = sockstat();
      // The demo runs its 22 experiments in about 150 ms: freeze it after the first one, make
      // sure it has not finished, queue the signal and let it go on. A run that got to its end
      // before the freeze is not a test of anything: try again (rare; at most 5 times).
      for (let attempt = 1; ; attempt++) {
        const base = freePortBlock(4, ['0.0.0.0', '127.0.0.1', '127.0.0.2', '::1']);
        const child = spawnCli(['demo', '--base-port', String(base)]);
        const watch = watchDescendants(child.pid);
        await child.waitFor((l) => l.startsWith('== '), 15_000);
        await freeze(child);
        const finished = child.lines.some((l) => /experiments in \d+ ms/.test(l));
        if (finished || child.proc.exitCode !== null) {
          expect(attempt, 'the demo finished before it could be frozen, 5 times').toBeLessThan(5);
          process.kill(child.pid, 'SIGCONT');
          await child.exited;
          watch.stop();
          continue;
        }
        const done = child.lines.filter((l) => l.startsWith('== ')).length;
        const t0 = Date.now();
        thawWith(child, sig);
        const r = await child.exited;
        const ms = Date.now() - t0;
        const seen = watch.stop();
        console.log(
          `demo ${sig} (attempt ${attempt}, after ${done} of 22 experiments): exited ${r.code} in ${ms} ms`,
        );
        expect(ms).toBeLessThan(EXIT_BOUND_MS);
        expect(r.code).toBe(code);
        expect(child.stderr()).toBe('fourtuple demo: interrupted\n');
        expect(child.lines.some((l) => /experiments in \d+ ms/.test(l))).toBe(false);
        // The listener-restart experiments leave a TIME_WAIT on purpose on a port of their
        // own; the demo's four ports must be bare.
        await expectNothingLeft(child, seen, { ports: [[base, base + 3]], before });
        return;
      }
    },
  );
});
