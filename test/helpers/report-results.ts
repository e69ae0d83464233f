/**
 * Results for the report tests, made by real runs on loopback (nothing hand-written): the
 * theory, a few demo experiments, proofs of 2 x 3 and 3 x 4 with their connections listed,
 * the limits (read, not measured), and a small `max` run that meets a wall (a descriptor budget
 * of one worker) so its series has failures, sampled every 100 ms so the charts have points.
 * Not the tour's TLS part (its handshakes take seconds): test/loopback/tour-tls.test.ts has it.
 */
import { runExperiments } from '../../src/experiments/index.js';
import { limits } from '../../src/limits/index.js';
import { prove } from '../../src/proof/index.js';
import { describeMachine } from '../../src/report/index.js';
import { tag } from '../../src/result.js';
import { runMax } from '../../src/scale/coordinator.js';
import { internetTheory, theory } from '../../src/theory/index.js';
import type { TourResult } from '../../src/tour.js';

/** The demo experiments the report tests run: quick, and no TIME_WAIT left behind. */
export const REPORT_EXPERIMENTS = ['diff-port', 'same-4-tuple', 'self-connect', 'reverse-4-tuple'];

/** The max run: one worker whose descriptor budget is the wall, well before the 2000 asked. */
export const REPORT_MAX = {
  connections: 2000,
  workers: 1,
  fdsPerWorker: 1200,
  rate: 1000,
  holdMs: 0,
  sampleMs: 100,
} as const;

/**
 * Every part, run for real, as the tour combines them. `experiments`: the demo experiments to
 * run, or 'all' for the whole catalogue as the tour runs it (about 2 s; those that need a
 * world of their own are skipped, with the reason, where namespaces cannot be made).
 */
export async function realResults(
  experimentNames: readonly string[] | 'all' = REPORT_EXPERIMENTS,
): Promise<TourResult & Required<Omit<TourResult, 'machine' | 'cutShort' | 'tls'>>> {
  const seed = theory({ machines: 2n, ports: 3n });
  const ipv4 = internetTheory('ipv4');
  const experiments = await runExperiments(
    experimentNames === 'all' ? {} : { names: [...experimentNames] },
  );
  const proof = [
    await prove({ machines: 2, ports: 3, hosts: 'loopback', listConnections: true }),
    await prove({ machines: 3, ports: 4, hosts: 'loopback', listConnections: true }),
  ];
  const limitsResult = await limits({ measure: false });
  const max = await runMax(REPORT_MAX);
  return {
    ...tag('tour'),
    machine: describeMachine(),
    theory: { seed, ipv4 },
    experiments,
    proof,
    limits: limitsResult,
    max,
  };
}
