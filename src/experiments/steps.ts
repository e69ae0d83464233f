/**
 * The steps interpreter: plays one experiment's sockets (listeners and connectors) in order and
 * records every syscall as a Step, ok or the errno by name. Used by the runner (runner.ts) and
 * the listener-restart experiments (restart.ts).
 */
import { type Listener, startListener } from '../endpoints/listener.js';
import { FourtupleError, formatAddress, SyscallError } from '../errors.js';
import type { Lab } from '../hosts/lab.js';
import { withNetns } from '../sockets/netns.js';
import { constants } from '../sockets/platform.js';
import { waitReady } from '../sockets/poller.js';
import { setLocalPortRange } from '../sockets/portrange.js';
import { formatSockAddr } from '../sockets/sockaddr.js';
import { RawSocket, type SocketOptions } from '../sockets/socket.js';
import type {
  AddrSpec,
  ConnectorSpec,
  Experiment,
  ListenerSpec,
  OptionSpec,
  WorldSpec,
} from './spec.js';
import type { Step } from './types.js';
import { worldRange } from './world.js';

/** The world an experiment runs in: its namespace and its narrowed range. */
export interface RunWorld {
  netnsPath: string;
  spec: WorldSpec;
}

/** The options of a spec by their socket-option names, in a fixed order. */
export function optionNames(o: OptionSpec): string[] {
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

/** A failed syscall as a step's result (its errno) and meaning; anything else is rethrown. */
export function failure(err: unknown): { result: string; meaning: string } {
  if (err instanceof SyscallError) return { result: err.code, meaning: err.meaning };
  throw err;
}

/** One experiment being played: its sockets, and every step as it happens. */
export class Run {
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
    /** a world of its own: every socket lives in its namespace */
    readonly world?: RunWorld,
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
    if (this.world) return this.world.netnsPath;
    return this.lab && machine !== undefined ? this.lab.machines[machine]?.netnsPath : undefined;
  }

  port(a: AddrSpec): number {
    return a.port === 'kernel' ? 0 : this.base + a.port;
  }

  async listener(spec: ListenerSpec): Promise<void> {
    const host = this.ip(spec.at.ip);
    const port = this.port(spec.at);
    const at = formatAddress(host, port);
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
    const family = (spec.to ?? spec.from)?.ip.includes(':') ? 6 : 4;
    const options = optionNames(spec.options);
    const s = withNetns(this.netns(spec.machine), () =>
      RawSocket.create(family, socketOptions(spec.options)),
    );
    this.raws.push(s);
    if (spec.portRangeOf) options.push(this.narrowPortRange(s, spec.id, spec.portRangeOf));
    if (this.world?.spec.via === 'socket') options.push(this.worldPortRange(s, spec.id));
    let from: string | undefined;
    if (spec.from) {
      from = this.bindConnector(s, spec.id, spec.from, options);
      if (from === undefined) return;
    }
    if (!spec.to) {
      // bind only: the socket holds its port until the experiment ends
      const port = s.localAddress().port;
      if (port !== 0) this.sourcePorts[spec.id] = port;
      this.outcomes[spec.id] = 'ok';
      return;
    }
    const toHost = this.ip(spec.to.ip);
    const toPort = this.port(spec.to);
    const to = formatAddress(toHost, toPort);
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
    if (spec.echo) await this.echoStep(s, spec, formatSockAddr(local), to, listenerTags);
  }

  /**
   * IP_LOCAL_PORT_RANGE narrowed to the one source port an earlier connector ended up with: the
   * kernel must pick that port or fail. Returns the option as a step lists it.
   */
  private narrowPortRange(s: RawSocket, id: string, of: string): string {
    const p = this.sourcePorts[of];
    if (p === undefined) {
      throw new FourtupleError(
        'FOURTUPLE_EXPERIMENT',
        `${this.experiment.name}: ${id} takes the source port of ${of}, which has none (it comes later or did not connect)`,
      );
    }
    setLocalPortRange(s, p, p);
    const option = `IP_LOCAL_PORT_RANGE=${p}-${p}`;
    this.step({
      socket: id,
      op: 'setsockopt',
      options: [option],
      result: 'ok',
      detail: `the kernel may only choose port ${p} (${of}'s source port)`,
    });
    return option;
  }

  /** The world's range as this socket's own IP_LOCAL_PORT_RANGE; returns the option's name. */
  private worldPortRange(s: RawSocket, id: string): string {
    const [low, high] = worldRange(this.world!.spec);
    setLocalPortRange(s, low, high);
    const option = `IP_LOCAL_PORT_RANGE=${low}-${high}`;
    this.step({ socket: id, op: 'setsockopt', options: [option], result: 'ok' });
    return option;
  }

  /** After the sockets: how many connections each listener accepted, as outcome and step. */
  async observeAccepted(): Promise<void> {
    // a non-event cannot be awaited: give a stray accept 50 ms to show up before counting (the
    // echo has already said who answered)
    await new Promise((r) => setTimeout(r, 50));
    for (const l of this.listeners) {
      const n = l.stats.accepted;
      this.outcomes[`${l.tag} accepted`] = String(n);
      this.step({
        socket: l.tag,
        op: 'observe',
        from: formatSockAddr(l.local),
        result: 'ok',
        detail: `accepted ${n} connection${n === 1 ? '' : 's'}`,
      });
    }
  }

  /** bind() before connect(): the local address as a step shows it, or undefined when refused. */
  private bindConnector(
    s: RawSocket,
    id: string,
    spec: AddrSpec,
    options: string[],
  ): string | undefined {
    const host = this.ip(spec.ip);
    const port = this.port(spec);
    const from = formatAddress(host, port);
    try {
      s.bind(host, port);
    } catch (err) {
      const f = failure(err);
      this.step({ socket: id, op: 'bind', from, options, ...f });
      this.outcomes[id] = `bind ${f.result}`;
      return undefined;
    }
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
      socket: id,
      op: 'bind',
      from,
      options,
      result: 'ok',
      ...(detail ? { detail } : {}),
    });
    return from;
  }

  /** Sends "hi" and records who answered: the listener the spec names, or ourselves ('self'). */
  private async echoStep(
    s: RawSocket,
    spec: ConnectorSpec,
    from: string,
    to: string,
    listenerTags: ReadonlySet<string>,
  ): Promise<void> {
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
      from,
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

  /** Connectors RST first, then listeners (which RST what they accepted). */
  async cleanup(): Promise<void> {
    for (const s of this.raws) s.closeReset();
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}

/** Sends "hi" and reads up to `length` bytes of reply (2 s at most). */
export async function echo(s: RawSocket, length: number, signal?: AbortSignal): Promise<string> {
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
