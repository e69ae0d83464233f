/**
 * The listener-restart experiments: a real TIME_WAIT on a listener's port (its side closes
 * first), then a new listener on the same port, with and without SO_REUSEADDR.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FourtupleError, formatAddress, SyscallError } from '../errors.js';
import { findFreePorts } from '../hosts/ports.js';
import { errnoNumber } from '../sockets/errno.js';
import { constants } from '../sockets/platform.js';
import { waitReady } from '../sockets/poller.js';
import { formatSockAddr } from '../sockets/sockaddr.js';
import { RawSocket } from '../sockets/socket.js';
import { failure, optionNames, type Run } from './steps.js';

/**
 * Is there a TIME_WAIT entry with local address 127.0.0.1:port? Asks `ss` with a filter the
 * kernel applies (fast however many sockets the host has); without `ss`, reads /proc/net/tcp
 * (state 06), which lists every socket and is slow on a busy host.
 */
export function timeWaitOn(port: number): boolean {
  try {
    const out = execFileSync('ss', ['-tanH', 'state', 'time-wait', 'src', `127.0.0.1:${port}`], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim().length > 0;
  } catch {
    // no ss: fall back to procfs
  }
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return false;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return text.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1] === local && f[3] === '06';
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** The port was free when probed and taken since (another process picked it). */
class PortTaken extends FourtupleError {
  constructor(port: number) {
    super('FOURTUPLE_PORTS_BUSY', `port ${port} was taken between the check and the bind`);
  }
}

/** The listener-restart experiments run on loopback only. */
const host = '127.0.0.1';

function restartContext(run: Run, port: number) {
  const signal = run.signal;
  return {
    spec: run.experiment.restart!,
    at: formatAddress(host, port),
    signal,
    waitOpts: signal ? { signal } : {},
  };
}

/** L1 listens, C1 connects, L1's side closes first: a TIME_WAIT on the port; L1 closes. */
async function makeTimeWait(run: Run, port: number): Promise<void> {
  const { spec, at, signal, waitOpts } = restartContext(run, port);

  const l1 = RawSocket.create(4, { reuseaddr: spec.oldReuseaddr });
  run.raws.push(l1);
  try {
    l1.bind(host, port);
  } catch (err) {
    // Free when probed, taken since (another process picked it): the caller tries another port.
    if (err instanceof SyscallError && err.code === 'EADDRINUSE') throw new PortTaken(port);
    throw err;
  }
  l1.listen();
  run.ports.add(port);
  run.step({
    socket: 'L1',
    op: 'bind',
    from: at,
    options: optionNames({ reuseaddr: spec.oldReuseaddr }),
    result: 'ok',
  });
  run.step({ socket: 'L1', op: 'listen', from: at, result: 'ok' });
  run.outcomes.L1 = 'ok';

  const c1 = RawSocket.create(4, {});
  run.raws.push(c1);
  await c1.connect(host, port, { timeoutMs: 5000, ...waitOpts });
  const { local: c1local, accepted: a1 } = await connected(run, 'C1', c1, l1, at);
  // epoll said a connection was ready, yet accept() found none (EAGAIN)
  if (!a1) throw SyscallError.fromErrno('accept4', errnoNumber('EAGAIN')!, host, port);

  // The listener's side closes first: it sends the first FIN, so it is the one left in TIME_WAIT.
  a1.close();
  run.step({
    socket: 'A1',
    op: 'close',
    from: at,
    to: c1local,
    result: 'ok',
    detail: 'orderly close (FIN) from the listener side first',
  });
  const buf = Buffer.alloc(64);
  for (;;) {
    await waitReady(c1.fd, constants().EPOLLIN, 5000, signal);
    if (c1.recv(buf) === 0) break;
  }
  c1.close();
  run.step({
    socket: 'C1',
    op: 'close',
    from: c1local,
    to: at,
    result: 'ok',
    detail: 'read EOF, then orderly close (FIN)',
  });
  // The FIN-ACK exchange on loopback takes microseconds; look a few times to be sure.
  let tw = timeWaitOn(port);
  for (let i = 0; i < 20 && !tw; i++) {
    await sleep(10);
    tw = timeWaitOn(port);
  }
  run.step({
    socket: 'A1',
    op: 'observe',
    from: at,
    to: c1local,
    result: tw ? 'TIME_WAIT' : 'NO-TIME_WAIT',
    meaning: tw
      ? 'the 4-tuple is kept for 60 s after the side that closed first has finished'
      : 'no TIME_WAIT entry appeared in /proc/net/tcp',
    detail: '/proc/net/tcp',
  });
  l1.close();
  run.step({ socket: 'L1', op: 'close', from: at, result: 'ok', detail: 'nothing listens now' });
}

/** L2 listens on the port again, over the TIME_WAIT, and C2 connects to it. */
async function listenAgain(run: Run, port: number): Promise<void> {
  const { spec, at, waitOpts } = restartContext(run, port);
  const l2 = RawSocket.create(4, { reuseaddr: spec.newReuseaddr });
  run.raws.push(l2);
  const l2opts = optionNames({ reuseaddr: spec.newReuseaddr });
  try {
    l2.bind(host, port);
    l2.listen();
  } catch (err) {
    const f = failure(err);
    run.step({ socket: 'L2', op: 'bind', from: at, options: l2opts, ...f });
    run.outcomes.L2 = `bind ${f.result}`;
    return;
  }
  run.step({ socket: 'L2', op: 'bind', from: at, options: l2opts, result: 'ok' });
  run.step({ socket: 'L2', op: 'listen', from: at, result: 'ok' });
  run.outcomes.L2 = 'ok';
  const c2 = RawSocket.create(4, {});
  run.raws.push(c2);
  try {
    await c2.connect(host, port, { timeoutMs: 5000, ...waitOpts });
  } catch (err) {
    const f = failure(err);
    run.step({ socket: 'C2', op: 'connect', to: at, ...f });
    run.outcomes.C2 = `connect ${f.result}`;
    return;
  }
  await connected(run, 'C2', c2, l2, at);
}

/**
 * Records connector `id`'s connect as established, then takes its far end from the listener
 * (A1 for C1): resolves with the connector's local address and the accepted socket, if any.
 */
async function connected(
  run: Run,
  id: 'C1' | 'C2',
  c: RawSocket,
  listener: RawSocket,
  at: string,
): Promise<{ local: string; accepted: RawSocket | undefined }> {
  const local = formatSockAddr(c.localAddress());
  run.established++;
  run.step({ socket: id, op: 'connect', from: local, to: at, result: 'ok' });
  run.outcomes[id] = 'ok';
  await listener.waitAcceptable(5000, run.signal);
  const accepted = listener.accept();
  if (accepted) {
    run.raws.push(accepted);
    run.step({ socket: id.replace('C', 'A'), op: 'accept', from: at, to: local, result: 'ok' });
  }
  return { local, accepted };
}

/** Both halves on one port: a TIME_WAIT, then a new listener on the same port. */
async function runRestart(run: Run, port: number): Promise<void> {
  await makeTimeWait(run, port);
  await listenAgain(run, port);
}

/**
 * Plays a listener-restart experiment on a fresh port each run (the TIME_WAIT it leaves holds
 * its port for 60 s), never one of `avoid`; resolves with the port left in TIME_WAIT.
 */
export async function runRestartOnFreshPort(run: Run, avoid: Set<number>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = findFreePorts(1, { avoid });
    avoid.add(port);
    try {
      await runRestart(run, port);
      return port;
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 5) throw err;
      run.raws.pop()?.close();
    }
  }
}
