/**
 * The construction: every connection that can exist at once, made (step 2) and accepted
 * (step 3). Connects run concurrently in a bounded pool; a connect is awaited on epoll.
 */
import { bounded } from './bounded.js';
import { bump, connectFrom, errName, type Held, type ProofContext } from './pool.js';

export interface Connected {
  /** connects that failed, by errno (none expected) */
  connectFailures: Record<string, number>;
  /** connecting sockets whose connect completed (self-connections included) */
  connected: number;
}

/**
 * Step 2: every unordered pair i <= j, i connects to j (i == j: the self-connection, bind ip:p
 * and connect ip:p, a TCP simultaneous open with one socket holding both ends).
 */
export async function connectEveryPair(ctx: ProofContext, held: Held): Promise<Connected> {
  const { eps, timeoutMs, signal, progress } = ctx;
  const N = eps.length;
  const conns = held.conns;
  for (let i = 0; i < N; i++) for (let j = i; j < N; j++) conns.push({ from: i, to: j });
  const connectFailures: Record<string, number> = {};
  let connected = 0;
  let done = 0;
  progress('connect', 0, conns.length);
  await bounded(
    conns.length,
    ctx.concurrency,
    async (k) => {
      const c = conns[k]!;
      try {
        c.socket = await connectFrom(eps[c.from]!, eps[c.to]!, timeoutMs, signal);
        connected++;
      } catch (err) {
        c.error = errName(err, signal);
        bump(connectFailures, c.error);
      }
      if ((++done & 1023) === 0) progress('connect', done, conns.length);
    },
    signal,
  );
  progress('connect', conns.length, conns.length);
  return { connectFailures, connected };
}

/**
 * Step 3: drains every listener, accept() until EAGAIN, waiting on epoll for the connections
 * it is owed (until `timeoutMs` from now). Resolves with how many sockets accept() returned.
 */
export async function acceptAll(ctx: ProofContext, held: Held): Promise<number> {
  const { signal } = ctx;
  const N = ctx.eps.length;
  const expected = new Array<number>(N).fill(0);
  for (const c of held.conns) if (c.socket && c.from !== c.to) expected[c.to]!++;
  const deadline = performance.now() + ctx.timeoutMs;
  ctx.progress('accept', 0, N);
  await bounded(
    N,
    ctx.concurrency,
    async (i) => {
      const l = held.listeners[i]!;
      const got = held.accepted[i]!;
      for (;;) {
        for (let s = l.accept(); s; s = l.accept()) got.push(s);
        const left = deadline - performance.now();
        if (got.length >= expected[i]! || left <= 0) break;
        try {
          await l.waitAcceptable(left, signal);
        } catch (err) {
          if (signal?.aborted) throw err;
        }
      }
    },
    signal,
  );
  return held.accepted.reduce((a, xs) => a + xs.length, 0);
}
