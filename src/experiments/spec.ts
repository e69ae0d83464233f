/**
 * The shape of a catalogue entry, as data: who listens where, who binds which source and
 * connects where, with which options, in which world, and what we predict the kernel will do.
 */

/** A local or remote address: an IP and a port offset from the base port P. */
export interface AddrSpec {
  ip: string;
  /** offset from the base port P; 'kernel' means port 0: the kernel picks one */
  port: number | 'kernel';
}

/** The socket options the demo varies (each true/false; absent means the kernel default: off). */
export interface OptionSpec {
  reuseaddr?: boolean;
  reuseport?: boolean;
  bindAddressNoPort?: boolean;
  v6only?: boolean;
}

export interface ListenerSpec {
  role: 'listener';
  /** L1, L2, ...: also the listener's echo tag, so an echo says which listener answered */
  id: string;
  at: AddrSpec;
  options: OptionSpec;
  /** hosts 'netns': the machine (0-based) this socket lives on; loopback ignores it */
  machine?: number;
}

export interface ConnectorSpec {
  role: 'connector';
  /** C1, C2, ... */
  id: string;
  /** bind() this before connect(); absent: no bind, connect() picks the source */
  from?: AddrSpec;
  /** absent: bind only, and hold the port (the exhausted-bind family) */
  to?: AddrSpec;
  options: OptionSpec;
  /**
   * IP_LOCAL_PORT_RANGE narrowed to the one source port that this earlier connector ended up
   * with: "the kernel must pick that port or fail".
   */
  portRangeOf?: string;
  /** after connecting, send "hi" and expect the echo from this listener id ('self': our own bytes) */
  echo?: string;
  machine?: number;
}

export type SocketSpec = ListenerSpec | ConnectorSpec;

/** A listener restart over a TIME_WAIT left by an orderly close from the listener's side. */
export interface RestartSpec {
  /** SO_REUSEADDR on the first listener (the TIME_WAIT entry inherits it) */
  oldReuseaddr: boolean;
  /** SO_REUSEADDR on the listener that tries to take the port again */
  newReuseaddr: boolean;
}

/**
 * What we expect. `outcomes` maps each socket id to 'ok' or '<syscall> <ERRNO>' (the first
 * step that failed); sockets that are never tried are absent. `sourcePorts` (optional) says
 * which connectors end up on the same source port: each entry lists ids that share one.
 */
export interface Prediction {
  established: number;
  outcomes: Record<string, string>;
  samePort?: string[][];
  differentPort?: string[][];
}

/**
 * A world of its own: a fresh network namespace whose ephemeral range is `ports` ports
 * (WORLD_FIRST_PORT on), either as the namespace's net.ipv4.ip_local_port_range ('sysctl') or
 * as every socket's IP_LOCAL_PORT_RANGE inside the default range ('socket', Linux 6.3+).
 * Every socket of the experiment lives in it; it needs root.
 */
export interface WorldSpec {
  ports: number;
  /** net.ipv4.ip_autobind_reuse in the namespace */
  autobindReuse: 0 | 1;
  via: 'sysctl' | 'socket';
}

/** The live per-destination ceiling: connect to each listener until the kernel refuses. */
export interface CeilingSpec {
  /** connect() alone, bind(ip, 0) then connect(), or the same with IP_BIND_ADDRESS_NO_PORT */
  strategy: 'connect' | 'bind-zero' | 'bind-no-port';
  /** the listeners to exhaust, in order (ids of the experiment's listeners) */
  destinations: string[];
}

/** One varied setting: an option, a sysctl, or an option per socket ([first, second]). */
export type VariantValue = boolean | number | string | boolean[];

export interface Experiment {
  name: string;
  /** the experiment this one varies (diff-port-no-reuseaddr varies diff-port) */
  of?: string;
  summary: string;
  family: 4 | 6;
  /** what is varied, for the JSON's `variant` */
  variant: Record<string, VariantValue>;
  /** true when hosts 'netns' can put the IPs on separate machines */
  multiHost?: boolean;
  sockets?: SocketSpec[];
  restart?: RestartSpec;
  /** run in a namespace of its own with a narrowed ephemeral range (needs root) */
  world?: WorldSpec;
  /** after the sockets, fill every destination until refused (needs `world`) */
  ceiling?: CeilingSpec;
  /** after the sockets, record how many connections each listener accepted ('L1 accepted') */
  observeAccepted?: boolean;
  prediction: Prediction;
  /** one line of what we predict, for people */
  predictionText: string;
  explanation: string;
}
