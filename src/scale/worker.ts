/**
 * A `max` worker process: holds up to (RLIMIT_NOFILE - its own descriptors) / 2 connections
 * with the Engine, driven by the coordinator's messages. It exits by itself when the
 * coordinator goes away (IPC disconnect), closing every socket with an RST on the way out.
 */
import { FourtupleError } from '../errors.js';
import { ephemeralPortRange } from '../limits/procfs.js';
import { getNofileLimit, openDescriptors, setNofileSoftLimit } from '../sockets/rlimit.js';
import { AT_ONCE_MS, Engine } from './engine.js';
import type { FromWorker, ToWorker } from './messages.js';

/**
 * A message to the coordinator. `process.connected` can still be true when the coordinator has
 * just died (the channel's EPIPE comes later, asynchronously): the callback swallows that error,
 * which would otherwise be an unhandled 'error' event with a stack trace; 'disconnect' follows
 * and shuts the worker down quietly.
 */
const send = (m: FromWorker): void => {
  if (process.connected) process.send?.(m, undefined, undefined, () => {});
};

let engine: Engine | undefined;
let stopping = false;
let ramping = false;
/** this worker listens itself (not --target): it accepts the server ends */
let listening = true;

function shutdown(code: number): never {
  try {
    engine?.closeAll();
  } finally {
    process.exit(code);
  }
}

async function ramp(connections: number, window: number, rate: number): Promise<void> {
  const e = engine!;
  ramping = true;
  stopping = false;
  const t0 = performance.now();
  let lastReport = t0;
  for (;;) {
    const now = performance.now();
    const allowed =
      rate > 0 ? Math.floor(((now - t0) / 1000) * rate) + 1 : Number.POSITIVE_INFINITY;
    const done = e.rampSlice(connections, window, allowed, 25);
    // every 50 ms: the coordinator samples the ramp every 250 ms, and a count up to 200 ms old
    // made the rate of one interval half and of the next double
    if (now - lastReport >= 50) {
      send({ type: 'progress', stats: e.stats });
      lastReport = now;
    }
    if (done || stopping) break;
    // Yield to the event loop so the coordinator's messages (stop) get through.
    await new Promise((r) => setImmediate(r));
  }
  // Drain what is still in flight (bounded, past the connect timeout so that unanswered SYNs
  // are counted), so established + failed = attempted.
  const drainUntil = performance.now() + Math.max(2000, e.connectTimeoutMs + 500);
  while (e.stats.inFlight > 0 && performance.now() < drainUntil) {
    e.poll(1);
    e.sweepConnects();
  }
  // Accept what the kernel already established (the client end completes first); with
  // --target the server ends are not ours, and nothing is waited for.
  const acceptUntil = performance.now() + (listening ? 2000 : 0);
  while (e.stats.accepted < e.stats.established && performance.now() < acceptUntil) e.poll(1);
  // A server that refuses by closing at once (a client cap) closes the connects it accepted
  // last a moment after the ramp: those are refusals too, not connections held and then lost.
  if (!listening && e.stats.wall?.kind === 'closed-at-once') {
    const settleUntil = performance.now() + AT_ONCE_MS;
    while (performance.now() < settleUntil) e.poll(10);
  }
  ramping = false;
  e.endRamp();
  send({ type: 'ramped', stats: e.stats, ms: Math.round(performance.now() - t0) });
}

// FOURTUPLE_MAX_WORKER_BOOT_DELAY_MS (tests only) holds the answer to `setup`, so that a test
// can kill a worker while it boots.
const bootDelayMs = Number(process.env.FOURTUPLE_MAX_WORKER_BOOT_DELAY_MS ?? 0);

process.on('message', (m: ToWorker) => {
  if (m.cmd === 'setup' && bootDelayMs > 0) setTimeout(() => handle(m), bootDelayMs);
  else handle(m);
});

function handle(m: ToWorker): void {
  try {
    switch (m.cmd) {
      case 'setup': {
        if (m.fdLimit) setNofileSoftLimit(m.fdLimit);
        const limit = getNofileLimit().soft;
        const base = openDescriptors() || 32;
        engine = new Engine(limit);
        const listeners = m.listenHosts.map((h) => engine!.listen(h, m.backlog));
        for (const d of m.targets.length ? m.targets : listeners) {
          engine.addDestination(d, m.targets.length > 0);
        }
        listening = m.targets.length === 0;
        if (m.probe) engine.setProbe(m.probe);
        if (m.connectTimeoutMs) engine.connectTimeoutMs = m.connectTimeoutMs;
        if (m.portStrategy && m.portStrategy !== 'kernel') {
          engine.setPortStrategy(m.portStrategy, process.pid, ephemeralPortRange());
        }
        const capacity = Math.max(
          0,
          Math.floor((limit - base - listeners.length - 8) / (m.targets.length ? 1 : 2)),
        );
        send({
          type: 'ready',
          pid: process.pid,
          fdLimit: limit,
          baseFds: base,
          capacity,
          listeners,
        });
        break;
      }
      case 'ramp':
        void ramp(m.connections, m.window, m.rate);
        break;
      case 'stop':
        stopping = true;
        if (!ramping) engine!.endRamp();
        if (!ramping) send({ type: 'ramped', stats: engine!.stats, ms: 0 });
        break;
      case 'verify':
        void engine!
          .verify(m.timeoutMs)
          .then((result) => send({ type: 'verified', result, stats: engine!.stats }));
        break;
      case 'probe':
        void engine!
          .verify(m.timeoutMs)
          .then((result) => send({ type: 'probed', result, stats: engine!.stats, at: Date.now() }));
        break;
      case 'teardown': {
        const closed = engine?.closeAll() ?? 0;
        engine?.dispose();
        engine = undefined;
        send({ type: 'closed', closed });
        process.disconnect?.();
        setImmediate(() => process.exit(0));
        break;
      }
    }
  } catch (err) {
    const failed: FromWorker = {
      type: 'error',
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof FourtupleError ? { code: err.code } : {}),
    };
    if (m.cmd !== 'setup') {
      send(failed);
      return;
    }
    // A worker that could not set up holds nothing and never will: it says why and leaves
    // (exit 1, once the message is written), and the coordinator counts it among the crashes.
    engine = undefined;
    if (process.connected && process.send) process.send(failed, () => process.exit(1));
    else process.exit(1);
  }
}

// The coordinator died or let go of us: close every socket (RST) and leave.
process.on('disconnect', () => shutdown(0));
// A write to a channel whose other end is gone (EPIPE, ERR_IPC_CHANNEL_CLOSED): the same.
process.on('error', () => shutdown(0));
process.on('SIGTERM', () => shutdown(143));
process.on('SIGINT', () => shutdown(130));
