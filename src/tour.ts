/**
 * The tour (`fourtuple` with no command): every part run on loopback with defaults that finish in
 * about a minute on a 2-core machine. `tour()` returns every part it ran on one machine, each the
 * result its own command returns, tagged `tour` like every other result. Interrupted, it returns
 * what completed, marked `cutShort`, so the page of a stopped tour still shows it.
 *
 * Adding a part: name it in TOUR_PARTS, run it in `runPart`, and put its result on TourResult.
 */
import { FourtupleError } from './errors.js';
import type { DemoResult } from './experiments/index.js';
import { runExperiments } from './experiments/index.js';
import type { LimitsResult } from './limits/index.js';
import { limits } from './limits/index.js';
import type { ProveResult } from './proof/index.js';
import { prove } from './proof/index.js';
import { describeMachine, type MachineInfo } from './report/machine.js';
import { type Tagged, tag } from './result.js';
import { type MaxResult, type Progress, runMax } from './scale/coordinator.js';
import { type InternetResult, internetTheory, type TheoryResult, theory } from './theory/index.js';

/** The tour's parts, in the order they run; each can be skipped. */
export const TOUR_PARTS = ['theory', 'demo', 'prove', 'limits', 'max', 'tls'] as const;
export type TourPart = (typeof TOUR_PARTS)[number];

/** The proofs the tour builds: the seed's example, and one size up. */
export const TOUR_PROOFS = [
  { machines: 2, ports: 3 },
  { machines: 3, ports: 4 },
] as const;

/** The tour's `max` run: modest, so the whole tour stays near a minute. */
export const TOUR_MAX = { connections: 100_000, holdMs: 2000, durationMs: 30_000 } as const;

/**
 * The tour's TLS runs: a few hundred handshakes per certificate kind, the first beside a
 * plain-TCP baseline of as many (the CPU and memory of TLS against plain TCP, per side).
 */
export const TOUR_TLS = {
  connections: 400,
  certs: ['ecdsa', 'rsa2048'],
  holdMs: 0,
  durationMs: 60_000,
} as const;

/** The tour's TLS part: a `max --tls` result per certificate kind, or why it was skipped. */
export interface TourTls {
  runs: MaxResult[];
  /** set when no run was made: why (the system openssl is missing, so no certificate) */
  skipped?: string;
}

export interface TourResult extends Tagged<'tour'> {
  /** the machine it ran on */
  machine: MachineInfo;
  /** the seed's example (2 machines x 3 ports) and the whole IPv4 space */
  theory?: { seed: TheoryResult; ipv4: InternetResult };
  /** every demo experiment */
  experiments?: DemoResult;
  /** the proofs by construction, smallest first */
  proof?: ProveResult[];
  limits?: LimitsResult;
  max?: MaxResult;
  tls?: TourTls;
  /**
   * present when the tour was interrupted: the part it was running, and why it stopped
   * ("interrupted during max"); the parts above are the ones that completed
   */
  cutShort?: { during: TourPart; reason: string };
}

export interface TourOptions {
  /** parts to leave out */
  skip?: Iterable<TourPart>;
  /** aborting stops the running part; the tour then returns what completed, marked cutShort */
  signal?: AbortSignal;
}

/** What the tour is doing, for a progress line and a summary per part as it completes. */
export type TourEvent =
  | { type: 'progress'; part: TourPart; text: string; max?: Progress }
  | { type: 'done'; part: TourPart; result: TourResult };

/** Runs one part, putting its result on `r`. */
async function runPart(
  part: TourPart,
  r: TourResult,
  signal: AbortSignal | undefined,
  say: (text: string, max?: Progress) => void,
): Promise<void> {
  const opts = signal ? { signal } : {};
  switch (part) {
    case 'theory':
      r.theory = { seed: theory({ machines: 2n, ports: 3n }), ipv4: internetTheory('ipv4') };
      return;
    case 'demo':
      say('demo: running the experiments against the kernel...');
      r.experiments = await runExperiments({
        ...opts,
        onExperiment: (e) => say(`demo: ${e.name}`),
      });
      return;
    case 'prove': {
      const proofs: ProveResult[] = [];
      for (const size of TOUR_PROOFS) {
        say(`prove: ${size.machines} x ${size.ports}...`);
        proofs.push(await prove({ ...size, hosts: 'loopback', listConnections: true, ...opts }));
      }
      r.proof = proofs;
      return;
    }
    case 'limits':
      say('limits: reading, and measuring what one connection costs...');
      r.limits = await limits(opts);
      return;
    case 'max': {
      const m = await runMax({ ...TOUR_MAX, ...opts }, (p) => say('max', p));
      signal?.throwIfAborted();
      r.max = m;
      return;
    }
    case 'tls':
      r.tls = await tourTls(signal, say);
      return;
  }
}

/** Both certificate kinds, the first beside a plain-TCP baseline; skipped without openssl. */
async function tourTls(
  signal: AbortSignal | undefined,
  say: (text: string, max?: Progress) => void,
): Promise<TourTls> {
  const runs: MaxResult[] = [];
  for (const cert of TOUR_TLS.certs) {
    say(`tls: ${TOUR_TLS.connections} handshakes with a throwaway ${cert} certificate...`);
    try {
      const m = await runMax(
        {
          connections: TOUR_TLS.connections,
          holdMs: TOUR_TLS.holdMs,
          durationMs: TOUR_TLS.durationMs,
          tls: { cert, baseline: runs.length === 0 ? TOUR_TLS.connections : 0 },
          ...(signal ? { signal } : {}),
        },
        (p) => say('tls', p),
      );
      signal?.throwIfAborted();
      runs.push(m);
    } catch (err) {
      // no openssl, no throwaway certificate: the tour goes on without its TLS part
      if (err instanceof FourtupleError && err.code === 'FOURTUPLE_TLS_CERT' && !runs.length) {
        return { runs, skipped: err.message };
      }
      throw err;
    }
  }
  return { runs };
}

/** Why an aborted signal stopped the tour, in words. */
function abortReason(signal: AbortSignal): string {
  const why = signal.reason as { signal?: string; message?: string } | undefined;
  if (why?.signal) return `interrupted by ${why.signal}`;
  return why?.message ? `interrupted (${why.message})` : 'interrupted';
}

/**
 * Runs the tour. `onEvent` hears each part's progress and, as each completes, the result so far.
 * An abort stops the running part: the result then carries what completed and `cutShort`.
 */
export async function tour(
  options: TourOptions = {},
  onEvent?: (e: TourEvent) => void,
): Promise<TourResult> {
  const { signal } = options;
  const skip = new Set(options.skip ?? []);
  const r: TourResult = { ...tag('tour'), machine: describeMachine() };
  for (const part of TOUR_PARTS) {
    if (skip.has(part)) continue;
    try {
      signal?.throwIfAborted();
      await runPart(part, r, signal, (text, max) =>
        onEvent?.({ type: 'progress', part, text, ...(max ? { max } : {}) }),
      );
    } catch (err) {
      if (!signal?.aborted) throw err;
      r.cutShort = { during: part, reason: `${abortReason(signal)} during ${part}` };
      return r;
    }
    onEvent?.({ type: 'done', part, result: r });
  }
  return r;
}

/** What did not come out as predicted (a demo differed, a proof was not exact, ...). */
export function tourProblems(r: TourResult): string[] {
  const problems: string[] = [];
  const differed = r.experiments?.summary.differed ?? [];
  if (differed.length) problems.push(`demo: ${differed.join(', ')} differed`);
  for (const p of r.proof ?? []) {
    if (p.verdict !== 'exact') problems.push(`prove ${p.machines}x${p.ports}: ${p.verdict}`);
  }
  if (r.max?.dead) problems.push(`max: ${r.max.dead} held connections were dead`);
  if (r.max && !r.max.sockstat.clean) problems.push('max: sockets were left behind');
  for (const t of r.tls?.runs ?? []) {
    const cert = t.tls?.cert ?? '?';
    if (t.dead) problems.push(`tls ${cert}: ${t.dead} held connections were dead`);
    if (!t.sockstat.clean) problems.push(`tls ${cert}: sockets were left behind`);
  }
  return problems;
}
