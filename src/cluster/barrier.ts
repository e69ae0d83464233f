/**
 * The barrier and common clock of a cluster run. Agent 0 also coordinates: it listens on the
 * control port, every agent (itself included) registers over one TCP connection, and once every
 * index 0..n-1 is in, the coordinator sends one absolute `startAt` (epoch ms, a short lead ahead)
 * to all of them in the same loop turn. Each agent keeps its control connection open: that is its
 * liveness signal, and its result comes back over it at the end.
 *
 * Unlike starting runners one after another over REST (k6-operator), the start skew does not grow
 * with n: it is one write per agent after the last registration, and the agents wait for the same
 * wall-clock instant. A barrier that times out names the missing indexes and ends instead of
 * hanging; a second pod registering an index already held (Kubernetes can start two for one
 * index) is refused and named.
 *
 * Messages are JSON lines: agent -> coordinator `register`, `result`; coordinator -> agent
 * `start`, `refused`.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { FourtupleError } from '../errors.js';

/** What an agent says about itself when it registers. */
export interface Registration {
  index: number;
  pod: string;
  node: string;
  source: string;
  limits: {
    nofile: number | undefined;
    portRange: string | undefined;
    cgroupMemory: number | undefined;
  };
}

export type ToCoordinator =
  | ({ type: 'register' } & Registration)
  | { type: 'result'; index: number; result: unknown };
export type ToAgent = { type: 'start'; startAt: number } | { type: 'refused'; reason: string };

export interface BarrierOptions {
  host: string;
  port: number;
  agents: number;
  /** how long to wait for every index to register */
  timeoutMs: number;
  /** how far ahead of the last registration the common start is (default 500 ms) */
  leadMs?: number;
  signal?: AbortSignal;
}

export interface BarrierOutcome {
  /** every index registered: the common start, epoch ms */
  startAt: number | undefined;
  registered: Registration[];
  /** indexes that had not registered when the barrier gave up */
  missing: number[];
  /** registrations refused because their index was already held */
  duplicates: Registration[];
}

export interface Coordinator {
  /** the address the control server listens on */
  port: number;
  /** settles when every index is in (startAt set) or the timeout passed (missing named) */
  barrier: Promise<BarrierOutcome>;
  /** results sent back by agents, by index (filled as they arrive) */
  results: Map<number, unknown>;
  /** indexes whose control connection closed before they sent a result, with when */
  lost: Map<number, number>;
  /** resolves when every registered agent has sent a result or was lost */
  done: Promise<void>;
  close(): Promise<void>;
}

/** Splits a socket's data into JSON messages, one per line; bad lines are dropped. */
function onLines(socket: Socket, handle: (msg: unknown) => void): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > 1 << 20) socket.destroy(); // a control message is never this long
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        handle(JSON.parse(line));
      } catch {
        // not a message
      }
    }
  });
}

function send(socket: Socket, msg: ToAgent | ToCoordinator): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
}

/** Starts the coordinator's control server and its barrier. */
export async function startCoordinator(o: BarrierOptions): Promise<Coordinator> {
  const sockets = new Map<number, Socket>();
  const registered: Registration[] = [];
  const duplicates: Registration[] = [];
  const results = new Map<number, unknown>();
  const lost = new Map<number, number>();
  let settle!: (b: BarrierOutcome) => void;
  const barrier = new Promise<BarrierOutcome>((r) => {
    settle = r;
  });
  let finished = false;
  let markDone!: () => void;
  const done = new Promise<void>((r) => {
    markDone = r;
  });
  const checkDone = (): void => {
    if (registered.every((g) => results.has(g.index) || lost.has(g.index))) markDone();
  };
  const outcome = (startAt: number | undefined): BarrierOutcome => ({
    startAt,
    registered: [...registered].sort((a, b) => a.index - b.index),
    missing: Array.from({ length: o.agents }, (_, i) => i).filter((i) => !sockets.has(i)),
    duplicates,
  });
  const timer = setTimeout(() => {
    finished = true;
    const out = outcome(undefined);
    // the registered agents are told at once, not left to their own timeouts
    const reason = `barrier timed out after ${o.timeoutMs} ms: index ${out.missing.join(', ')} missing`;
    for (const s of sockets.values()) {
      send(s, { type: 'refused', reason });
      s.end();
    }
    settle(out);
    markDone();
  }, o.timeoutMs);
  const release = (): void => {
    clearTimeout(timer);
    finished = true;
    const startAt = Date.now() + (o.leadMs ?? 500);
    for (const s of sockets.values()) send(s, { type: 'start', startAt });
    settle(outcome(startAt));
  };
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    let index: number | undefined;
    onLines(socket, (raw) => {
      const m = raw as ToCoordinator;
      if (m?.type === 'register' && index === undefined) {
        const { type: _t, ...reg } = m;
        if (!Number.isInteger(reg.index) || reg.index < 0 || reg.index >= o.agents) {
          send(socket, { type: 'refused', reason: `index ${reg.index} is not 0..${o.agents - 1}` });
          return void socket.end();
        }
        if (sockets.has(reg.index) || finished) {
          duplicates.push(reg);
          const why = finished
            ? 'the barrier has already released'
            : `index ${reg.index} is already registered by ${registered.find((g) => g.index === reg.index)?.pod}`;
          send(socket, { type: 'refused', reason: why });
          return void socket.end();
        }
        index = reg.index;
        sockets.set(index, socket);
        registered.push(reg);
        if (sockets.size === o.agents) release();
      } else if (m?.type === 'result' && index !== undefined) {
        results.set(index, m.result);
        checkDone();
      }
    });
    socket.on('close', () => {
      if (index !== undefined && !results.has(index)) {
        lost.set(index, Date.now());
        checkDone();
      }
    });
  });
  const onAbort = (): void => {
    clearTimeout(timer);
    finished = true;
    settle(outcome(undefined));
    markDone();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    barrier,
    results,
    lost,
    done,
    close: async () => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      for (const s of sockets.values()) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface AgentLink {
  /** the common start, epoch ms */
  startAt: number;
  /** this agent's address on the control connection (its source address towards the cluster) */
  localAddress: string;
  /** sends this agent's result back over the control connection */
  sendResult(result: unknown): Promise<void>;
  /** resolves when the coordinator's side closes (the coordinator is gone) */
  coordinatorGone: Promise<void>;
  close(): void;
}

/** Registers with the coordinator and waits for the common start (or a refusal, or the timeout). */
export async function joinBarrier(o: {
  host: string;
  port: number;
  registration: Registration;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<AgentLink> {
  const socket = tcpConnect({ host: o.host, port: o.port });
  const coordinatorGone = new Promise<void>((r) => socket.once('close', () => r()));
  try {
    const startAt = await new Promise<number>((resolve, reject) => {
      const fail = (why: string): void => reject(new FourtupleError('FOURTUPLE_BARRIER', why));
      const timer = setTimeout(
        () => fail(`no start from the coordinator ${o.host}:${o.port} within ${o.timeoutMs} ms`),
        o.timeoutMs,
      );
      o.signal?.addEventListener('abort', () => fail('interrupted'), { once: true });
      socket.once('error', (err: NodeJS.ErrnoException) =>
        fail(`coordinator ${o.host}:${o.port}: ${err.code ?? err.message}`),
      );
      socket.once('close', () => fail('the coordinator closed the control connection'));
      socket.once('connect', () => send(socket, { type: 'register', ...o.registration }));
      onLines(socket, (raw) => {
        const m = raw as ToAgent;
        clearTimeout(timer);
        if (m?.type === 'start') resolve(m.startAt);
        else if (m?.type === 'refused') fail(`refused by the coordinator: ${m.reason}`);
      });
    });
    socket.on('error', () => {});
    return {
      startAt,
      localAddress: socket.localAddress ?? '',
      sendResult: (result) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.write(
            `${JSON.stringify({ type: 'result', index: o.registration.index, result })}\n`,
            () => resolve(),
          );
        }),
      coordinatorGone,
      close: () => socket.end(),
    };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
