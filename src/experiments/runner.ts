/**
 * Plays catalogue entries against the real kernel and records what happened, step by step,
 * errno by name. A prediction that the kernel contradicts is reported (matches: false), never
 * adjusted. Every socket is closed before the next experiment: connectors with an RST (no
 * TIME_WAIT to disturb the next run), listeners with an RST to every accepted connection. The
 * listener-restart experiments leave one TIME_WAIT each, on a fresh port chosen per run.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Listener, startListener } from '../endpoints/listener.js';
import { FourtupleError, SyscallError, UsageError } from '../errors.js';
import { createLab, type Lab } from '../hosts/lab.js';
import { type Tagged, tag } from '../result.js';
import { withNetns } from '../sockets/netns.js';
import { constants } from '../sockets/platform.js';
import { waitReady } from '../sockets/poller.js';
import { setLocalPortRange } from '../sockets/portrange.js';
import { formatSockAddr } from '../sockets/sockaddr.js';
import { RawSocket, type SocketOptions } from '../sockets/socket.js';
import {
  type AddrSpec,
  CATALOGUE,
  type ConnectorSpec,
  type Experiment,
  findExperiment,
  type ListenerSpec,
  type OptionSpec,
  PORT_SPAN,
  type Prediction,
} from './catalogue.js';

export type HostsMode = 'loopback' | 'netns';

export interface RunExperimentsOptions {
  /** experiment names (default: all, in catalogue order); an unknown name is a UsageError */
  names?: readonly string[];
  /** experiments of your own (same shape as the catalogue's), run instead of `names` */
  experiments?: readonly Experiment[];
  /** first port of the block P..P+3 (default: a free block below 32768 found at run time) */
  basePort?: number;
  /** 'netns': the multi-IP experiments run across separate network namespaces */
  hosts?: HostsMode;
  signal?: AbortSignal;
  /** called after each experiment (the CLI prints as it goes) */
  onExperiment?: (r: ExperimentResult) => void;
}

export type StepOp =
  | 'setsockopt'
  | 'bind'
  | 'listen'
  | 'connect'
  | 'echo'
  | 'accept'
  | 'close'
  | 'observe';

export interface Step {
  /** the socket: L1, C2, A1 (an accepted connection) */
  socket: string;
  op: StepOp;
  /** the local address (bind, listen, connect) */
  from?: string;
  /** the remote address (connect, echo) */
  to?: string;
  /** options set on the socket, for bind steps: SO_REUSEADDR, SO_REUSEPORT, ... */
  options?: string[];
  /** 'ok', an errno name (EADDRINUSE), or what was observed (TIME_WAIT, WRONG-ECHO) */
  result: string;
  /** the errno's meaning, or what the result says */
  meaning?: string;
  /** what else the kernel told us (getsockname after bind, the echo's text) */
  detail?: string;
}

export interface Observation {
  established: number;
  outcomes: Record<string, string>;
  /** the source port each connector ended up with (after connect) */
  sourcePorts: Record<string, number>;
  samePort?: string[][];
  differentPort?: string[][];
}

export interface ExperimentResult {
  name: string;
  of?: string;
  summary: string;
  hosts: HostsMode;
  family: 4 | 6;
  variant: Record<string, boolean | number | string>;
  /** who listens where, who binds what and connects where, with real addresses */
  topology: string[];
  predicted: Prediction;
  predictionText: string;
  steps: Step[];
  observed: Observation;
  established: number;
  matches: boolean;
  explanation: string;
  /** every local port the experiment bound (for leak checks) */
  ports: number[];
  /** listener-restart only: the port left in TIME_WAIT (ages out in 60 s) */
  timeWaitPort?: number;
  durationMs: number;
}

export interface DemoSummary {
  experiments: number;
  matched: number;
  /** names of the experiments whose outcome differed from the prediction */
  differed: string[];
  basePort: number;
  hosts: HostsMode;
  /** ports left in TIME_WAIT on purpose by the listener-restart experiments */
  timeWaitPorts: number[];
  /** --hosts netns: the lab the multi-IP experiments ran in (removed before returning) */
  lab?: { runId: string; machines: { name: string; address: string }[] };
  durationMs: number;
}

export interface DemoResult extends Tagged<'demo'> {
  experiments: ExperimentResult[];
  summary: DemoSummary;
}

// ---------------------------------------------------------------------------------------------
// Ports

/** The lowest ephemeral port on Linux by default: the demo's own ports stay below it. */
const DEFAULT_HIGH = 32767;
const DEFAULT_LOW = 20000;

/**
 * True when nothing on this host holds `port` on any IPv4 or IPv6 address, TIME_WAIT included:
 * a bind without SO_REUSEADDR to 0.0.0.0:port and to [::]:port (v6only) both succeed.
 */
export function portIsFree(port: number): boolean {
  for (const [host, opts] of [
    ['0.0.0.0', { reuseaddr: false }],
    ['::', { reuseaddr: false, v6only: true }],
  ] as const) {
    let s: RawSocket | undefined;
    try {
      s = RawSocket.forAddress(host, opts);
      s.bind(host, port);
    } catch {
      return false;
    } finally {
      s?.close();
    }
  }
  return true;
}

/** A block of `count` consecutive free ports in [low, high], starting at a random place. */
export function findFreePorts(
  count: number,
  options: { low?: number; high?: number; avoid?: ReadonlySet<number> } = {},
): number {
  const low = options.low ?? DEFAULT_LOW;
  const high = options.high ?? DEFAULT_HIGH;
  const avoid = options.avoid ?? new Set<number>();
  const starts = high - low - count + 2;
  for (let attempt = 0; attempt < 500; attempt++) {
    const p = low + Math.floor(Math.random() * starts);
    let ok = true;
    for (let k = 0; k < count && ok; k++) ok = !avoid.has(p + k) && portIsFree(p + k);
    if (ok) return p;
  }
  throw new FourtupleError(
    'FOURTUPLE_NO_FREE_PORTS',
    `no ${count} consecutive free ports found between ${low} and ${high}; pass --base-port`,
  );
}

// ---------------------------------------------------------------------------------------------
// Running

function optionNames(o: OptionSpec): string[] {
  const out: string[] = [];
  if (o.reuseaddr) out.push('SO_REUSEADDR');
  if (o.reuseport) out.push('SO_REUSEPORT');
  if (o.bindAddressNoPort) out.push('IP_BIND_ADDRESS_NO_PORT');
  if (o.v6only) out.push('IPV6_V6ONLY');
  return out;
}

function socketOptions(o: OptionSpec): SocketOptions {
  return {
    reuseaddr: o.reuseaddr ?? false,
    reuseport: o.reuseport ?? false,
    ...(o.bindAddressNoPort !== undefined ? { bindAddressNoPort: o.bindAddressNoPort } : {}),
    ...(o.v6only !== undefined ? { v6only: o.v6only } : {}),
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function failure(err: unknown): { result: string; meaning: string } {
  if (err instanceof SyscallError) return { result: err.code, meaning: err.meaning };
  throw err;
}

class Run {
  readonly steps: Step[] = [];
  readonly outcomes: Record<string, string> = {};
  readonly sourcePorts: Record<string, number> = {};
  readonly ports = new Set<number>();
  readonly raws: RawSocket[] = [];
  readonly listeners: Listener[] = [];
  established = 0;

  constructor(
    readonly experiment: Experiment,
    readonly base: number,
    readonly signal: AbortSignal | undefined,
    /** netns: the lab whose machines hold the sockets (multi-host experiments only) */
    readonly lab: Lab | undefined,
    /** netns: loopback address in the catalogue -> the machine index that stands for it */
    readonly machineOfIp: Map<string, number>,
  ) {}

  step(s: Step): void {
    this.steps.push(s);
  }

  ip(ip: string): string {
    if (!this.lab) return ip;
    const k = this.machineOfIp.get(ip);
    return k === undefined ? ip : this.lab.machines[k]!.address;
  }

  netns(machine: number | undefined): string | undefined {
    return this.lab && machine !== undefined ? this.lab.machines[machine]?.netnsPath : undefined;
  }

  port(a: AddrSpec): number {
    return a.port === 'kernel' ? 0 : this.base + a.port;
  }

  async listener(spec: ListenerSpec): Promise<void> {
    const host = this.ip(spec.at.ip);
    const port = this.port(spec.at);
    const at = hostPort(host, port);
    const options = optionNames(spec.options);
    try {
      const netnsPath = this.netns(spec.machine);
      const l = await startListener({
        host,
        port,
        tag: spec.id,
        reuseaddr: spec.options.reuseaddr ?? false,
        reuseport: spec.options.reuseport ?? false,
        ...(netnsPath ? { netnsPath } : {}),
      });
      this.listeners.push(l);
      this.ports.add(port);
      this.step({ socket: spec.id, op: 'bind', from: at, options, result: 'ok' });
      this.step({ socket: spec.id, op: 'listen', from: at, result: 'ok' });
      this.outcomes[spec.id] = 'ok';
    } catch (err) {
      const f = failure(err);
      const syscall = err instanceof SyscallError ? err.syscall : 'bind';
      if (syscall === 'listen') {
        this.step({ socket: spec.id, op: 'bind', from: at, options, result: 'ok' });
      }
      this.step({
        socket: spec.id,
        op: syscall === 'listen' ? 'listen' : 'bind',
        from: at,
        options,
        ...f,
      });
      this.outcomes[spec.id] = `${syscall} ${f.result}`;
    }
  }

  async connector(spec: ConnectorSpec, listenerTags: ReadonlySet<string>): Promise<void> {
    const toHost = this.ip(spec.to.ip);
    const toPort = this.port(spec.to);
    const to = hostPort(toHost, toPort);
    const options = optionNames(spec.options);
    const s = withNetns(this.netns(spec.machine), () =>
      RawSocket.forAddress(toHost, socketOptions(spec.options)),
    );
    this.raws.push(s);
    if (spec.portRangeOf) {
      const p = this.sourcePorts[spec.portRangeOf];
      if (p === undefined) throw new Error(`${spec.id}: ${spec.portRangeOf} has no source port`);
      setLocalPortRange(s, p, p);
      options.push(`IP_LOCAL_PORT_RANGE=${p}-${p}`);
      this.step({
        socket: spec.id,
        op: 'setsockopt',
        options: [`IP_LOCAL_PORT_RANGE=${p}-${p}`],
        result: 'ok',
        detail: `the kernel may only choose port ${p} (${spec.portRangeOf}'s source port)`,
      });
    }
    let from: string | undefined;
    if (spec.from) {
      const host = this.ip(spec.from.ip);
      const port = this.port(spec.from);
      from = hostPort(host, port);
      try {
        s.bind(host, port);
        if (port !== 0) this.ports.add(port);
        let detail: string | undefined;
        if (port === 0) {
          const got = s.localAddress();
          if (got.port !== 0) this.ports.add(got.port);
          detail =
            got.port === 0
              ? 'getsockname: port 0, to be chosen at connect()'
              : `getsockname: ${formatSockAddr(got)}, chosen and reserved at bind()`;
        }
        this.step({
          socket: spec.id,
          op: 'bind',
          from,
          options,
          result: 'ok',
          ...(detail ? { detail } : {}),
        });
      } catch (err) {
        const f = failure(err);
        this.step({ socket: spec.id, op: 'bind', from, options, ...f });
        this.outcomes[spec.id] = `bind ${f.result}`;
        return;
      }
    }
    try {
      await s.connect(toHost, toPort, {
        timeoutMs: 5000,
        ...(this.signal ? { signal: this.signal } : {}),
      });
    } catch (err) {
      const f = failure(err);
      this.step({ socket: spec.id, op: 'connect', ...(from ? { from } : {}), to, ...f });
      this.outcomes[spec.id] = `connect ${f.result}`;
      return;
    }
    const local = s.localAddress();
    this.sourcePorts[spec.id] = local.port;
    this.ports.add(local.port);
    this.established++;
    this.step({ socket: spec.id, op: 'connect', from: formatSockAddr(local), to, result: 'ok' });
    this.outcomes[spec.id] = 'ok';
    if (spec.echo) {
      const expect = spec.echo === 'self' ? 'hi' : `${spec.echo}:hi`;
      const got = await echo(s, expect.length, this.signal);
      const ok = got === expect;
      const said = (t: string): string => {
        const tag = t.split(':')[0] ?? '';
        return spec.echo !== 'self' && listenerTags.has(tag) ? `listener ${tag}` : `"${t}"`;
      };
      this.step({
        socket: spec.id,
        op: 'echo',
        from: formatSockAddr(local),
        to,
        result: ok ? 'ok' : got === '' ? 'NO-ECHO' : 'WRONG-ECHO',
        ...(ok
          ? {}
          : { meaning: `expected "${expect}", got ${got === '' ? 'nothing' : `"${got}"`}` }),
        detail:
          spec.echo === 'self'
            ? `sent "hi", read back "${got}" from itself`
            : `sent "hi", got "${got}" from ${got ? said(got) : 'nobody'}`,
      });
      if (!ok) this.outcomes[spec.id] = got === '' ? 'echo NO-ECHO' : `echo WRONG-ECHO`;
    }
  }

  /** Connectors RST first, then listeners (which RST what they accepted). */
  async cleanup(): Promise<void> {
    for (const s of this.raws) s.closeReset();
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}

/** Sends "hi" and reads up to `length` bytes of reply (2 s at most). */
async function echo(s: RawSocket, length: number, signal?: AbortSignal): Promise<string> {
  s.send(Buffer.from('hi'));
  const deadline = Date.now() + 2000;
  const buf = Buffer.alloc(256);
  let got = '';
  while (got.length < length) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      await waitReady(s.fd, constants().EPOLLIN, left, signal);
    } catch (err) {
      if (err instanceof SyscallError && err.code === 'ETIMEDOUT') break;
      throw err;
    }
    const n = s.recv(buf);
    if (n === 0) break;
    if (n > 0) got += buf.subarray(0, n).toString('latin1');
  }
  return got;
}

/** The catalogue's sockets as lines with real addresses: "L1 listens on 127.0.0.1:23101". */
export function describeTopology(
  e: Experiment,
  base?: number,
  ipMap: (ip: string) => string = (ip) => ip,
): string[] {
  const port = (a: AddrSpec): string =>
    a.port === 'kernel'
      ? '0'
      : base !== undefined
        ? String(base + a.port)
        : a.port === 0
          ? 'P'
          : `P+${a.port}`;
  const addr = (a: AddrSpec): string => {
    const ip = ipMap(a.ip);
    return ip.includes(':') ? `[${ip}]:${port(a)}` : `${ip}:${port(a)}`;
  };
  const opts = (o: OptionSpec): string => {
    const names = optionNames(o);
    return names.length ? names.join(' + ') : 'no options';
  };
  if (e.restart) {
    const p = 'T';
    return [
      `L1 listens on 127.0.0.1:${p} (${e.restart.oldReuseaddr ? 'SO_REUSEADDR' : 'no options'}); C1 connects, L1's side closes first (TIME_WAIT on 127.0.0.1:${p}); L1 closes`,
      `L2 listens on 127.0.0.1:${p} again (${e.restart.newReuseaddr ? 'SO_REUSEADDR' : 'no options'}); C2 connects to it`,
    ];
  }
  return (e.sockets ?? []).map((s) => {
    if (s.role === 'listener') return `${s.id} listens on ${addr(s.at)} (${opts(s.options)})`;
    const from = s.from ? `binds ${addr(s.from)}, ` : '';
    const range = s.portRangeOf ? `, port range narrowed to ${s.portRangeOf}'s port` : '';
    return `${s.id} ${from}connects to ${addr(s.to)} (${opts(s.options)}${range})`;
  });
}

function checkPorts(pred: Prediction, sourcePorts: Record<string, number>): Partial<Observation> {
  const out: Partial<Observation> = {};
  const has = (ids: string[]): boolean => ids.every((id) => sourcePorts[id] !== undefined);
  if (pred.samePort) {
    out.samePort = pred.samePort.filter(
      (ids) => has(ids) && new Set(ids.map((id) => sourcePorts[id])).size === 1,
    );
  }
  if (pred.differentPort) {
    out.differentPort = pred.differentPort.filter(
      (ids) => has(ids) && new Set(ids.map((id) => sourcePorts[id])).size === ids.length,
    );
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([k, w]) => [k, canon(w)]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function matches(pred: Prediction, obs: Observation): boolean {
  return (
    pred.established === obs.established &&
    sameJson(pred.outcomes, obs.outcomes) &&
    sameJson(pred.samePort, obs.samePort) &&
    sameJson(pred.differentPort, obs.differentPort)
  );
}

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

class PortTaken extends Error {}

/** The listener-restart experiments: a real TIME_WAIT, then a new listener on the same port. */
async function runRestart(run: Run, port: number): Promise<void> {
  const spec = run.experiment.restart!;
  const host = '127.0.0.1';
  const at = hostPort(host, port);
  const signal = run.signal;
  const waitOpts = signal ? { signal } : {};

  const l1 = RawSocket.create(4, { reuseaddr: spec.oldReuseaddr });
  run.raws.push(l1);
  try {
    l1.bind(host, port);
  } catch (err) {
    // Free when probed, taken since (another process picked it): the caller tries another port.
    if (err instanceof SyscallError && err.code === 'EADDRINUSE') throw new PortTaken();
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
  const c1local = formatSockAddr(c1.localAddress());
  run.established++;
  run.step({ socket: 'C1', op: 'connect', from: c1local, to: at, result: 'ok' });
  run.outcomes.C1 = 'ok';
  await l1.waitAcceptable(5000, signal);
  const a1 = l1.accept();
  if (!a1) throw new Error('listener-restart: no connection to accept');
  run.raws.push(a1);
  run.step({ socket: 'A1', op: 'accept', from: at, to: c1local, result: 'ok' });

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
  const c2local = formatSockAddr(c2.localAddress());
  run.established++;
  run.step({ socket: 'C2', op: 'connect', from: c2local, to: at, result: 'ok' });
  run.outcomes.C2 = 'ok';
  await l2.waitAcceptable(5000, signal);
  const a2 = l2.accept();
  if (a2) {
    run.raws.push(a2);
    run.step({ socket: 'A2', op: 'accept', from: at, to: c2local, result: 'ok' });
  }
}

async function runOne(
  e: Experiment,
  base: number,
  options: { lab?: Lab; signal?: AbortSignal; avoid: Set<number> },
): Promise<ExperimentResult> {
  const started = performance.now();
  const useLab = e.multiHost && options.lab ? options.lab : undefined;
  const machineOfIp = new Map<string, number>();
  for (const s of e.sockets ?? []) {
    const ip = s.role === 'listener' ? s.at.ip : s.from?.ip;
    if (ip !== undefined && s.machine !== undefined) machineOfIp.set(ip, s.machine);
  }
  const run = new Run(e, base, options.signal, useLab, machineOfIp);
  let timeWaitPort: number | undefined;
  try {
    if (e.restart) {
      // A fresh port each run: the TIME_WAIT this leaves holds its port for 60 s.
      for (let attempt = 1; ; attempt++) {
        timeWaitPort = findFreePorts(1, { avoid: options.avoid });
        options.avoid.add(timeWaitPort);
        try {
          await runRestart(run, timeWaitPort);
          break;
        } catch (err) {
          if (!(err instanceof PortTaken) || attempt >= 5) throw err;
          run.raws.pop()?.close();
        }
      }
    } else {
      const tags = new Set((e.sockets ?? []).filter((s) => s.role === 'listener').map((s) => s.id));
      for (const s of e.sockets ?? []) {
        options.signal?.throwIfAborted();
        if (s.role === 'listener') await run.listener(s);
        else await run.connector(s, tags);
      }
    }
  } finally {
    await run.cleanup();
  }
  const observed: Observation = {
    established: run.established,
    outcomes: run.outcomes,
    sourcePorts: run.sourcePorts,
    ...checkPorts(e.prediction, run.sourcePorts),
  };
  let topology = describeTopology(e, base, (ip) => run.ip(ip));
  if (timeWaitPort !== undefined)
    topology = topology.map((t) => t.replaceAll(':T', `:${timeWaitPort}`));
  return {
    name: e.name,
    ...(e.of ? { of: e.of } : {}),
    summary: e.summary,
    hosts: useLab ? 'netns' : 'loopback',
    family: e.family,
    variant: e.variant,
    topology,
    predicted: e.prediction,
    predictionText: e.predictionText,
    steps: run.steps,
    observed,
    established: run.established,
    matches: matches(e.prediction, observed),
    explanation: e.explanation,
    ports: [...run.ports].sort((x, y) => x - y),
    ...(timeWaitPort !== undefined ? { timeWaitPort } : {}),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Waits until every machine of a fresh netns lab reaches every other: a connect to a port where
 * nothing listens is answered with an RST (ECONNREFUSED) once the veths have carrier and ARP
 * works. Right after creation the first SYNs can be lost (about a second here), and a lost SYN
 * would show up as an ETIMEDOUT that has nothing to do with the experiment.
 */
async function waitReachable(lab: Lab, port: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (const from of lab.machines) {
    for (const to of lab.machines) {
      if (from === to) continue;
      for (;;) {
        signal?.throwIfAborted();
        const s = withNetns(from.netnsPath, () => RawSocket.create(4, {}));
        try {
          await s.connect(to.address, port, { timeoutMs: 300, ...(signal ? { signal } : {}) });
          break; // something answered: reachable
        } catch (err) {
          if (err instanceof SyscallError && err.code === 'ECONNREFUSED') break;
          if (!(err instanceof SyscallError) || Date.now() > deadline) {
            throw new FourtupleError(
              'FOURTUPLE_LAB_UNREACHABLE',
              `--hosts netns: ${from.name} (${from.address}) cannot reach ${to.name} (${to.address}): ${err instanceof Error ? err.message : String(err)}`,
            );
          }
        } finally {
          s.closeReset();
        }
      }
    }
  }
}

/** Checks names against the catalogue; an unknown name is a UsageError listing the valid ones. */
export function selectExperiments(names?: readonly string[]): Experiment[] {
  if (!names || names.length === 0) return [...CATALOGUE];
  const unknown = names.filter((n) => !findExperiment(n));
  if (unknown.length) {
    throw new UsageError(
      `unknown experiment${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (experiments: ${CATALOGUE.map((e) => e.name).join(', ')})`,
    );
  }
  return names.map((n) => findExperiment(n)!);
}

/**
 * Runs the chosen experiments (default: all) one after another against the kernel and returns
 * what each predicted and what happened.
 */
export async function runExperiments(options: RunExperimentsOptions = {}): Promise<DemoResult> {
  const started = performance.now();
  const chosen = options.experiments ? [...options.experiments] : selectExperiments(options.names);
  const hosts = options.hosts ?? 'loopback';
  let base: number;
  if (options.basePort !== undefined) {
    base = options.basePort;
    if (!Number.isInteger(base) || base < 1 || base + PORT_SPAN > 65535) {
      throw new UsageError(`--base-port must be an integer from 1 to ${65535 - PORT_SPAN}`);
    }
    const busy = Array.from({ length: PORT_SPAN + 1 }, (_, k) => base + k).filter(
      (p) => !portIsFree(p),
    );
    if (busy.length) {
      throw new FourtupleError(
        'FOURTUPLE_PORTS_BUSY',
        `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use (a socket or a TIME_WAIT holds ${busy.length > 1 ? 'them' : 'it'}); choose another --base-port or leave it out`,
      );
    }
  } else {
    base = findFreePorts(PORT_SPAN + 1);
  }
  const avoid = new Set(Array.from({ length: PORT_SPAN + 1 }, (_, k) => base + k));
  let lab: Lab | undefined;
  if (hosts === 'netns' && chosen.some((e) => e.multiHost)) {
    lab = await createLab({
      kind: 'netns',
      machines: 3,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const results: ExperimentResult[] = [];
  try {
    if (lab) await waitReachable(lab, base + PORT_SPAN, options.signal);
    for (const e of chosen) {
      options.signal?.throwIfAborted();
      const r = await runOne(e, base, {
        ...(lab ? { lab } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        avoid,
      });
      results.push(r);
      options.onExperiment?.(r);
    }
  } finally {
    await lab?.destroy();
  }
  const differed = results.filter((r) => !r.matches).map((r) => r.name);
  return {
    ...tag('demo'),
    experiments: results,
    summary: {
      experiments: results.length,
      matched: results.length - differed.length,
      differed,
      basePort: base,
      hosts,
      timeWaitPorts: results.flatMap((r) => (r.timeWaitPort !== undefined ? [r.timeWaitPort] : [])),
      ...(lab
        ? {
            lab: {
              runId: lab.runId,
              machines: lab.machines.map((m) => ({ name: m.name, address: m.address })),
            },
          }
        : {}),
      durationMs: Math.round(performance.now() - started),
    },
  };
}
