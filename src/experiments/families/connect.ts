/**
 * Connecting when ports run out, in worlds of their own (see exhausted.ts for the bind matrix):
 *
 * - exhausted-connect: in a one-port world, two connections from one source IP to two
 *   destinations, by four strategies: which share the one port, which refuse the second, and
 *   at which step (bind or connect);
 * - port-ceiling: in a world of CEILING_PORTS ports, connections to one destination until the
 *   kernel refuses, then to a second destination: the per-destination ceiling, live.
 */
import { a, connector, listener, RA } from '../build.js';
import { ceilingKey, ceilingOutcome } from '../ceiling.js';
import type { CeilingSpec, Experiment, OptionSpec, WorldSpec } from '../spec.js';

const IP = '127.0.0.1';
/** K, the ports of the ceiling's world (even: __inet_hash_connect scans an even count). */
export const CEILING_PORTS = 8;

type Via = WorldSpec['via'];
const viaSuffix = (via: Via): string => (via === 'socket' ? '-sockopt' : '');
const viaWords = (via: Via): string =>
  via === 'socket' ? ' (per-socket IP_LOCAL_PORT_RANGE)' : '';

const HASH_CONNECT =
  'connect() on a socket without a port picks one in __inet_hash_connect(): it walks the range and may take a port that other connect()ed sockets already use (their bind bucket was made by connect, fastreuse = fastreuseport = -1), as long as __inet_check_established() finds the whole 4-tuple unused.';

interface Strategy {
  code: string;
  words: string;
  /** undefined: no bind() */
  bind: boolean;
  options: OptionSpec;
  autobindReuse: 0 | 1;
  shares: boolean;
  why: string;
}

const STRATEGIES: readonly Strategy[] = [
  {
    code: 'connect',
    words: 'connect() without bind()',
    bind: false,
    options: {},
    autobindReuse: 0,
    shares: true,
    why: `${HASH_CONNECT} The two destinations differ, so both connections get the one port.`,
  },
  {
    code: 'bind-zero',
    words: 'bind(ip, 0), then connect()',
    bind: true,
    options: {},
    autobindReuse: 0,
    shares: false,
    why: 'bind(ip, 0) must choose the port before the destination is known: inet_csk_get_port() -> inet_csk_find_open_port() takes only a port that inet_csk_bind_conflict() finds free of other owners, and C1 holds the one port. C2 fails at bind with EADDRINUSE, although its 4-tuple would have been new.',
  },
  {
    code: 'bind-zero-autobind',
    words: 'bind(ip, 0) with SO_REUSEADDR and ip_autobind_reuse=1, then connect()',
    bind: true,
    options: RA,
    autobindReuse: 1,
    shares: true,
    why: "ip_autobind_reuse=1 gives inet_csk_find_open_port() a second, relaxed pass: inet_csk_bind_conflict() lets two non-listening SO_REUSEADDR sockets share (not both SO_REUSEPORT). C2's bind gets C1's port; at connect, __inet_hash_connect() only checks that the 4-tuple is new, which it is.",
  },
  {
    code: 'no-port',
    words: 'IP_BIND_ADDRESS_NO_PORT + bind(ip, 0), then connect()',
    bind: true,
    options: { bindAddressNoPort: true },
    autobindReuse: 0,
    shares: true,
    why: `With IP_BIND_ADDRESS_NO_PORT, __inet_bind() records the address and skips inet_csk_get_port(): the port is left to connect(). ${HASH_CONNECT} So the bound source IP behaves like no bind at all: both connections get the one port.`,
  },
];

function exhaustedConnect(st: Strategy, via: Via): Experiment {
  const from = st.bind ? a(IP, 'kernel') : undefined;
  return {
    name: `exhausted-connect-${st.code}${viaSuffix(via)}`,
    of: 'exhausted-connect',
    summary: `one-port world: two connections to two destinations by ${st.words}${viaWords(via)}`,
    family: 4,
    variant: {
      strategy: st.code,
      reuseaddr: st.options.reuseaddr ?? false,
      bindAddressNoPort: st.options.bindAddressNoPort ?? false,
      autobindReuse: st.autobindReuse,
      via,
    },
    world: { ports: 1, autobindReuse: st.autobindReuse, via },
    sockets: [
      listener('L1', IP, 1),
      listener('L2', IP, 2),
      connector('C1', from, a(IP, 1), st.options, { echo: 'L1' }),
      connector('C2', from, a(IP, 2), st.options, st.shares ? { echo: 'L2' } : {}),
    ],
    prediction: st.shares
      ? {
          established: 2,
          outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'ok' },
          samePort: [['C1', 'C2']],
        }
      : { established: 1, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'bind EADDRINUSE' } },
    predictionText: st.shares
      ? 'both connect, from the one port'
      : "C2's bind fails with EADDRINUSE: the one port is C1's",
    explanation: st.why,
  };
}

const CEILINGS: readonly {
  strategy: CeilingSpec['strategy'];
  words: string;
  perDestination: boolean;
  why: string;
}[] = [
  {
    strategy: 'connect',
    words: 'connect() without bind()',
    perDestination: true,
    why: `${HASH_CONNECT} To one destination each port serves once, so the K+1st connect() finds every 4-tuple taken and fails with EADDRNOTAVAIL; a second destination makes K new 4-tuples from the same K ports. This is the seed's m(n-1): ports are per destination, not per machine.`,
  },
  {
    strategy: 'bind-no-port',
    words: 'IP_BIND_ADDRESS_NO_PORT + bind(ip, 0), then connect()',
    perDestination: true,
    why: `IP_BIND_ADDRESS_NO_PORT defers the port to connect(). ${HASH_CONNECT} So a bound source IP gets K connections per destination, as if unbound: EADDRNOTAVAIL at connect after K, and K more to the second destination.`,
  },
  {
    strategy: 'bind-zero',
    words: 'bind(ip, 0), then connect()',
    perDestination: false,
    why: 'bind(ip, 0) reserves a port for itself before the destination is known (inet_csk_find_open_port() takes only a port that inet_csk_bind_conflict() finds free). After K binds the range is gone for every destination: the K+1st bind fails with EADDRINUSE, and the second destination gets none. bind-before-connect turns a per-destination ceiling into a per-machine one.',
  },
];

function portCeiling(c: (typeof CEILINGS)[number], via: Via): Experiment {
  const k = CEILING_PORTS;
  const refusal = c.perDestination ? 'connect EADDRNOTAVAIL' : 'bind EADDRINUSE';
  return {
    name: `port-ceiling-${c.strategy}${viaSuffix(via)}`,
    of: 'port-ceiling',
    summary: `a world of ${k} ports: ${c.words} to one destination until refused, then to a second${viaWords(via)}`,
    family: 4,
    variant: { strategy: c.strategy, ports: k, via },
    world: { ports: k, autobindReuse: 0, via },
    ceiling: { strategy: c.strategy, destinations: ['L1', 'L2'] },
    sockets: [listener('L1', IP, 1), listener('L2', IP, 2)],
    prediction: {
      established: c.perDestination ? 2 * k : k,
      outcomes: {
        L1: 'ok',
        L2: 'ok',
        [ceilingKey('L1')]: ceilingOutcome(k, refusal),
        [ceilingKey('L2')]: ceilingOutcome(c.perDestination ? k : 0, refusal),
      },
    },
    predictionText: c.perDestination
      ? `${k} connections to each destination, then EADDRNOTAVAIL at connect: ${2 * k} in all`
      : `${k} connections in all, then EADDRINUSE at bind, whatever the destination`,
    explanation: c.why,
  };
}

/** The strategies in a one-port world, then the live ceiling, for one way of narrowing. */
export function connectFamilies(via: Via): { strategies: Experiment[]; ceilings: Experiment[] } {
  return {
    strategies: STRATEGIES.map((st) => exhaustedConnect(st, via)),
    ceilings: CEILINGS.map((c) => portCeiling(c, via)),
  };
}
