/**
 * One process of a `listen --workers` group (listener-group.ts): an echo listener on the group's
 * ip:port with SO_REUSEPORT, holding up to its own descriptor budget, every event sent to the
 * parent with this process's counts. It stops on SIGTERM/SIGINT (143/130), closing every
 * connection with an RST, and leaves as soon as the parent goes away (IPC disconnect).
 */
import { formatSockAddr } from '../sockets/sockaddr.js';
import { descriptorBudget, type Listener, startListener } from './listener.js';
import type { FromListenerWorker, ToListenerWorker } from './listener-group.js';

let listener: Listener | undefined;
/** sends not yet written to the channel: waited for before exiting, so no event is lost */
let pending = 0;
let drained: () => void = () => {};

const send = (m: FromListenerWorker): void => {
  if (!process.connected || !process.send) return;
  pending++;
  process.send(m, undefined, undefined, () => {
    if (--pending === 0) drained();
  });
};

let leaving = false;
async function leave(code: number): Promise<never> {
  if (!leaving) {
    leaving = true;
    await listener?.close();
    // the close events, then exit; bounded, in case the parent stopped reading
    if (pending > 0) {
      await new Promise<void>((resolve) => {
        drained = resolve;
        setTimeout(resolve, 2000).unref();
      });
    }
  }
  process.exit(code);
}

process.on('message', (m: ToListenerWorker) => {
  if (m.cmd !== 'start' || listener) return;
  // below the descriptor limit, so running out is reported ('drop') rather than silent
  const budget = descriptorBudget();
  startListener({ ...m.options, reuseport: true, maxConnections: budget }, (event) =>
    // after the listener's own handler is done with the counts (a data event comes before the
    // echo's bytes are counted): each event carries the counts that include it
    queueMicrotask(() => send({ type: 'event', event, stats: listener?.stats })),
  ).then(
    (l) => {
      listener = l;
      const local = formatSockAddr(l.local);
      send({ type: 'started', local, tag: l.tag, port: l.local.port, budget });
    },
    (err: Error & { code?: string; syscall?: string; address?: string; port?: number }) => {
      const { name, code, message, syscall, address, port } = err;
      send({ type: 'failed', error: { name, code, message, syscall, address, port } });
      void leave(1);
    },
  );
});

process.on('SIGTERM', () => void leave(143));
process.on('SIGINT', () => void leave(130));
// The parent died or let go of us: close every connection (RST) and leave.
process.on('disconnect', () => void leave(0));
