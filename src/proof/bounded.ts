/** The proof's bounded concurrency: connects and attempts in flight, a few hundred at a time. */

/** How long `bounded` may run on promises alone before it lets the event loop turn. */
const YIELD_EVERY_MS = 20;

/** Runs `fn` over 0..count-1 with at most `limit` in flight; stops early on abort. */
export async function bounded(
  count: number,
  limit: number,
  fn: (i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  // On loopback a connect (or a refused attempt) usually completes inside connect(2), so `fn`
  // resolves without waiting on epoll and the whole pool runs on microtasks: the event loop
  // never turns, a SIGINT/SIGTERM handler never runs, and the run ignores the signal to its
  // end (then exits 0). Every YIELD_EVERY_MS all workers wait for one shared setImmediate,
  // which lets the loop turn: the abort fires and throwIfAborted below stops the pool.
  let gate: Promise<void> | undefined;
  let lastTurn = performance.now();
  const breathe = (): Promise<void> | undefined => {
    if (gate || performance.now() - lastTurn < YIELD_EVERY_MS) return gate;
    gate = new Promise<void>((resolve) =>
      setImmediate(() => {
        gate = undefined;
        lastTurn = performance.now();
        resolve();
      }),
    );
    return gate;
  };
  const worker = async (): Promise<void> => {
    while (next < count && !failed) {
      const turn = breathe();
      if (turn) await turn;
      if (next >= count || failed) break;
      const i = next++;
      try {
        signal?.throwIfAborted();
        await fn(i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failed) throw failed.err;
}
