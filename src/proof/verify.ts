/**
 * Verification and the verdict: the 4-tuples of what was built (step 4), one more connection of
 * every kind tried and refused (step 5), and every way the count differs from the exact model.
 */
import { formatSockAddr } from '../sockets/sockaddr.js';
import type { ModelCounts } from '../theory/models.js';
import { bounded } from './bounded.js';
import { bump, connectFrom, type Endpoint, errName, type Held, type ProofContext } from './pool.js';
import type { AttemptStats, Verdict } from './types.js';

/** Extra attempts in flight at once (each holds one descriptor until it fails). */
export const ATTEMPTS_IN_FLIGHT = 64;

export interface TupleCheck {
  /** every connection's 4-tuple is distinct, and every accepted socket mirrors exactly one */
  distinct: boolean;
  /** connections seen on both sides, self-connections included */
  established: number;
  selfConnections: number;
  /** accepted sockets that are the far end of exactly one connecting socket */
  mirrored: number;
  betweenMachines: number;
  /** connections that came out other than intended, one line each */
  differences: string[];
}

/**
 * Step 4: getsockname/getpeername on every socket. Each connection's 4-tuple is distinct and as
 * intended, and each accepted socket is the far end of exactly one connecting socket.
 */
export function checkTuples(eps: readonly Endpoint[], held: Held): TupleCheck {
  const { conns } = held;
  const differences: string[] = [];
  const tupleOf = new Map<string, number>(); // "local>remote" of connecting sockets -> conn
  let distinct = true;
  for (let k = 0; k < conns.length; k++) {
    const c = conns[k]!;
    if (!c.socket) continue;
    const local = formatSockAddr(c.socket.localAddress());
    const remote = formatSockAddr(c.socket.remoteAddress());
    if (local !== eps[c.from]!.label || remote !== eps[c.to]!.label) {
      distinct = false;
      differences.push(
        `connection ${eps[c.from]!.label} -> ${eps[c.to]!.label} came out as ${local} -> ${remote}`,
      );
    }
    const key = `${local}>${remote}`;
    if (tupleOf.has(key)) distinct = false;
    tupleOf.set(key, k);
  }
  const mirrored = new Set<number>();
  for (const xs of held.accepted) {
    for (const s of xs) {
      const key = `${formatSockAddr(s.remoteAddress())}>${formatSockAddr(s.localAddress())}`;
      const k = tupleOf.get(key);
      if (k === undefined || mirrored.has(k) || conns[k]!.from === conns[k]!.to) distinct = false;
      else mirrored.add(k);
    }
  }
  let selfConnections = 0;
  let betweenMachines = 0;
  for (let k = 0; k < conns.length; k++) {
    const c = conns[k]!;
    if (!c.socket) continue;
    if (c.from === c.to) selfConnections++;
    else if (mirrored.has(k) && eps[c.from]!.machine !== eps[c.to]!.machine) betweenMachines++;
  }
  return {
    distinct,
    established: selfConnections + mirrored.size,
    selfConnections,
    mirrored: mirrored.size,
    betweenMachines,
    differences,
  };
}

export interface Attempts {
  attempts: { reverse: AttemptStats; duplicate: AttemptStats };
  /** every extra attempt's failure, by errno */
  attemptsRefused: Record<string, number>;
  attemptsSucceeded: number;
}

/**
 * Step 5: one more of every kind. Each connection reversed (j's ip:port to i's; pairs only: a
 * self-connection's reverse is itself) and each duplicated (i to j again). The kernel refuses
 * every one with EADDRNOTAVAIL: the 4-tuple is taken.
 */
export async function tryOneMore(ctx: ProofContext, held: Held): Promise<Attempts> {
  const { eps, timeoutMs, signal, progress } = ctx;
  const attempts = {
    reverse: { tried: 0, refused: {}, succeeded: 0 } as AttemptStats,
    duplicate: { tried: 0, refused: {}, succeeded: 0 } as AttemptStats,
  };
  const tries: { from: number; to: number; stats: AttemptStats }[] = [];
  for (const c of held.conns) {
    if (!c.socket) continue;
    if (c.from !== c.to) tries.push({ from: c.to, to: c.from, stats: attempts.reverse });
    tries.push({ from: c.from, to: c.to, stats: attempts.duplicate });
  }
  progress('attempts', 0, tries.length);
  await bounded(
    tries.length,
    ATTEMPTS_IN_FLIGHT,
    async (k) => {
      const t = tries[k]!;
      t.stats.tried++;
      try {
        const s = await connectFrom(eps[t.from]!, eps[t.to]!, timeoutMs, signal);
        t.stats.succeeded++;
        held.strays.push(s);
      } catch (err) {
        bump(t.stats.refused, errName(err, signal));
      }
      if ((k & 1023) === 0) progress('attempts', k, tries.length);
    },
    signal,
  );
  progress('attempts', tries.length, tries.length);
  // an attempt that got through would sit in a listener's queue: take it, to close it
  for (const l of held.listeners) for (let s = l.accept(); s; s = l.accept()) held.strays.push(s);
  const attemptsRefused: Record<string, number> = {};
  for (const st of [attempts.reverse, attempts.duplicate]) {
    for (const [e, n] of Object.entries(st.refused)) bump(attemptsRefused, e, n);
  }
  const attemptsSucceeded = attempts.reverse.succeeded + attempts.duplicate.succeeded;
  return { attempts, attemptsRefused, attemptsSucceeded };
}

/**
 * The one errno the proof predicts for a reverse or duplicate attempt: the 4-tuple is taken
 * (__inet_hash_connect / inet_hash_connect find no free 4-tuple for a bound source port).
 */
export const PREDICTED_REFUSAL = 'EADDRNOTAVAIL';

/**
 * Extra attempts that failed for a reason the proof does not predict (a namespace removed under
 * it, EINVAL, a timeout): by errno. Any such failure makes the verdict an error, never a refusal.
 */
export function unexpectedFailures(extra: Attempts): Record<string, number> {
  return Object.fromEntries(
    Object.entries(extra.attemptsRefused).filter(([e]) => e !== PREDICTED_REFUSAL),
  );
}

/** exact: no difference; error: something failed that the proof cannot count; else mismatch. */
export function verdictOf(diffs: readonly string[], extra: Attempts): Verdict {
  if (Object.keys(unexpectedFailures(extra)).length > 0) return 'error';
  return diffs.length === 0 ? 'exact' : 'mismatch';
}

/** Everything that separates what was built from the exact model, one line each. */
export function differences(
  models: ModelCounts,
  N: number,
  found: {
    connected: number;
    accepted: number;
    connectFailures: Record<string, number>;
    tuples: TupleCheck;
    extra: Attempts;
  },
): string[] {
  const { tuples, extra, ...built } = found;
  const out = [...tuples.differences];
  const est = BigInt(tuples.established);
  if (est !== models.exact) {
    out.push(
      `established ${est} connections, the exact model says ${models.exact} (N(N+1)/2 for N = ${N})`,
    );
  }
  const failures = Object.entries(built.connectFailures);
  if (failures.length > 0) {
    out.push(`connects that failed: ${failures.map(([e, n]) => `${e} x${n}`).join(', ')}`);
  }
  if (built.connected !== tuples.established) {
    out.push(
      `${built.connected - tuples.established} connected socket(s) never showed up at a listener's accept()`,
    );
  }
  if (built.accepted !== tuples.mirrored) {
    out.push(`${built.accepted - tuples.mirrored} accepted socket(s) match no connection`);
  }
  if (!tuples.distinct) out.push('some 4-tuples are repeated or not the intended endpoints');
  const unexpected = Object.entries(unexpectedFailures(extra));
  if (unexpected.length > 0) {
    out.push(
      `extra attempts failed for a reason the proof does not predict (only ${PREDICTED_REFUSAL} means the 4-tuple is taken): ${unexpected.map(([e, n]) => `${e} x${n}`).join(', ')}`,
    );
  }
  if (extra.attemptsSucceeded > 0) {
    const { reverse, duplicate } = extra.attempts;
    out.push(
      `${extra.attemptsSucceeded} extra attempt(s) succeeded (reverse ${reverse.succeeded}, duplicate ${duplicate.succeeded})`,
    );
  }
  return out;
}
