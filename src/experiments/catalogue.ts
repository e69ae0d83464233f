/**
 * The classic socket-reuse experiments, as data: who listens where, who binds which source
 * and connects where, with which options, and what we predict the kernel will do. The runner
 * (runner.ts) plays each entry against the real kernel; the prediction is ours, the kernel is
 * the judge.
 *
 * Ports are offsets from a base port P chosen at run time (P, P+1, P+2), so two runs never
 * collide. Every prediction below was checked by hand on Linux 6.x before it was written.
 */

import { a, connector, listener, NONE, RA, RA_RP } from './build.js';
import { connectFamilies } from './families/connect.js';
import { bindMatrix } from './families/exhausted.js';
import { orderFamilies, reuseportVariant } from './families/reuse.js';
import type { Experiment } from './spec.js';

export type * from './spec.js';

// The four "one source port, two connections" experiments, each with and without SO_REUSEADDR
// on the connectors. With it, a second bind to a source ip:port that a connected (non-listening)
// socket holds succeeds; without it, the bind itself fails, before any 4-tuple exists.

function diffPort(family: 4 | 6, reuseaddr: boolean): Experiment {
  const ip = family === 4 ? '127.0.0.1' : '::1';
  const opts = reuseaddr ? RA : NONE;
  const suffix = `${family === 6 ? '-v6' : ''}${reuseaddr ? '' : '-no-reuseaddr'}`;
  return {
    name: `diff-port${suffix}`,
    ...(suffix ? { of: 'diff-port' } : {}),
    summary: `one source ${family === 6 ? '[::1]' : 'ip'}:port to two listeners on different ports${reuseaddr ? '' : ', SO_REUSEADDR off'}`,
    family,
    variant: { family, reuseaddr, reuseport: false },
    sockets: [
      listener('L1', ip, 1),
      listener('L2', ip, 2),
      connector('C1', a(ip, 0), a(ip, 1), opts, { echo: 'L1' }),
      connector('C2', a(ip, 0), a(ip, 2), opts, { echo: 'L2' }),
    ],
    prediction: reuseaddr
      ? { established: 2, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'ok' } }
      : { established: 1, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'bind EADDRINUSE' } },
    predictionText: reuseaddr
      ? 'both connect from the same source port; each echo comes from its own listener'
      : "C2's bind fails with EADDRINUSE although its 4-tuple would be new",
    explanation: reuseaddr
      ? 'A TCP connection is identified by its whole 4-tuple (source ip, source port, destination ip, destination port). The two connections share a source but differ in destination port, so the kernel keeps them apart; SO_REUSEADDR on both connectors lets the second bind() share a local address that a connected, non-listening socket already holds.'
      : 'Without SO_REUSEADDR, bind() refuses any local ip:port that another socket holds, whatever it is connected to: the check happens at bind time, before the kernel knows the destination. The 4-tuple would have been unique; the bind never gets that far. (The same happens when only one of the two connectors sets SO_REUSEADDR: both must.)',
  };
}

function diffIp(reuseaddr: boolean): Experiment {
  const opts = reuseaddr ? RA : NONE;
  return {
    name: `diff-ip${reuseaddr ? '' : '-no-reuseaddr'}`,
    ...(reuseaddr ? {} : { of: 'diff-ip' }),
    summary: `one source ip:port to two listeners on the same port of different IPs${reuseaddr ? '' : ', SO_REUSEADDR off'}`,
    family: 4,
    variant: { family: 4, reuseaddr, reuseport: false },
    multiHost: true,
    sockets: [
      { ...listener('L1', '127.0.0.1', 1), machine: 1 },
      { ...listener('L2', '127.0.0.2', 1), machine: 2 },
      connector('C1', a('127.0.0.3', 0), a('127.0.0.1', 1), opts, { echo: 'L1', machine: 0 }),
      connector('C2', a('127.0.0.3', 0), a('127.0.0.2', 1), opts, { echo: 'L2', machine: 0 }),
    ],
    prediction: reuseaddr
      ? { established: 2, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'ok' } }
      : { established: 1, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'bind EADDRINUSE' } },
    predictionText: reuseaddr
      ? 'both connect from the same source port; the echoes come from L1 and L2'
      : "C2's bind fails with EADDRINUSE",
    explanation: reuseaddr
      ? 'Two listeners may hold the same port on different IPs (a listener owns ip:port, not the port). The connections differ in destination ip, so one source ip:port can reach both; SO_REUSEADDR lets the second connector bind the source that the first already holds.'
      : 'The listeners differ only in IP, and the connections would differ in destination IP, but without SO_REUSEADDR the second bind() to the same source ip:port is refused before any destination is known.',
  };
}

function oneListenerTwoIps(reuseaddr: boolean): Experiment {
  const opts = reuseaddr ? RA : NONE;
  return {
    name: `one-listener-two-ips${reuseaddr ? '' : '-no-reuseaddr'}`,
    ...(reuseaddr ? {} : { of: 'one-listener-two-ips' }),
    summary: `one listener on 0.0.0.0 reached from one source ip:port through two destination IPs${reuseaddr ? '' : ', SO_REUSEADDR off'}`,
    family: 4,
    variant: { family: 4, reuseaddr, reuseport: false },
    sockets: [
      listener('L1', '0.0.0.0', 1),
      connector('C1', a('127.0.0.3', 0), a('127.0.0.1', 1), opts, { echo: 'L1' }),
      connector('C2', a('127.0.0.3', 0), a('127.0.0.2', 1), opts, { echo: 'L1' }),
    ],
    prediction: reuseaddr
      ? { established: 2, outcomes: { L1: 'ok', C1: 'ok', C2: 'ok' } }
      : { established: 1, outcomes: { L1: 'ok', C1: 'ok', C2: 'bind EADDRINUSE' } },
    predictionText: reuseaddr
      ? 'both connect; both echoes come from the one listener L1'
      : "C2's bind fails with EADDRINUSE",
    explanation: reuseaddr
      ? 'A listener on 0.0.0.0 accepts on every local IP. 127.0.0.1:P+1 and 127.0.0.2:P+1 are different destinations, so the two connections have different 4-tuples although one socket accepted both and one source ip:port made both.'
      : 'One listener, two destination IPs, one source: the 4-tuples differ, but without SO_REUSEADDR the second bind() to the source is refused.',
  };
}

function diffSourceIp(reuseaddr: boolean): Experiment {
  const opts = reuseaddr ? RA : NONE;
  return {
    name: `diff-source-ip${reuseaddr ? '' : '-no-reuseaddr'}`,
    ...(reuseaddr ? {} : { of: 'diff-source-ip' }),
    summary: `the same source port on two source IPs, to one listener${reuseaddr ? '' : ', SO_REUSEADDR off'}`,
    family: 4,
    variant: { family: 4, reuseaddr, reuseport: false },
    multiHost: true,
    sockets: [
      { ...listener('L1', '127.0.0.1', 1), machine: 0 },
      connector('C1', a('127.0.0.2', 0), a('127.0.0.1', 1), opts, { echo: 'L1', machine: 1 }),
      connector('C2', a('127.0.0.3', 0), a('127.0.0.1', 1), opts, { echo: 'L1', machine: 2 }),
    ],
    prediction: { established: 2, outcomes: { L1: 'ok', C1: 'ok', C2: 'ok' } },
    predictionText: reuseaddr
      ? 'both connect'
      : 'both connect: SO_REUSEADDR is not needed, the two binds do not overlap',
    explanation: reuseaddr
      ? 'The two sources differ in IP, so the connections differ in source ip and there is nothing to share.'
      : 'The odd one out: with SO_REUSEADDR off both connections still succeed, because 127.0.0.2:P and 127.0.0.3:P are different local addresses. bind() conflicts are per ip:port, not per port (only a wildcard 0.0.0.0:P would overlap both).',
  };
}

function sameFourTuple(family: 4 | 6): Experiment {
  const ip = family === 4 ? '127.0.0.1' : '::1';
  return {
    name: `same-4-tuple${family === 6 ? '-v6' : ''}`,
    ...(family === 6 ? { of: 'same-4-tuple' } : {}),
    summary: 'two connectors with the same source and the same destination',
    family,
    variant: { family, reuseaddr: true, reuseport: false },
    sockets: [
      listener('L1', ip, 1),
      connector('C1', a(ip, 0), a(ip, 1), RA, { echo: 'L1' }),
      connector('C2', a(ip, 0), a(ip, 1), RA, { echo: 'L1' }),
    ],
    prediction: {
      established: 1,
      outcomes: { L1: 'ok', C1: 'ok', C2: 'connect EADDRNOTAVAIL' },
    },
    predictionText: "C2's bind succeeds (SO_REUSEADDR), its connect fails with EADDRNOTAVAIL",
    explanation:
      'SO_REUSEADDR lets the second socket bind the same source, so bind() succeeds; but the 4-tuple it then asks for already exists, and a 4-tuple names at most one connection. connect() finds the tuple taken and fails with EADDRNOTAVAIL ("cannot assign requested address"). This is the real limit: one connection per 4-tuple.',
  };
}

function listenerPortAsSource(family: 4 | 6, reuseport: boolean): Experiment {
  const ip = family === 4 ? '127.0.0.1' : '::1';
  const opts = reuseport ? RA_RP : RA;
  const suffix = `${reuseport ? '-reuseport' : ''}${family === 6 ? '-v6' : ''}`;
  return {
    name: `listener-port-as-source${suffix}`,
    ...(suffix ? { of: 'listener-port-as-source' } : {}),
    summary: `a connector bound to the ip:port a listener holds${reuseport ? ', SO_REUSEPORT on both' : ', SO_REUSEADDR alone'}`,
    family,
    variant: { family, reuseaddr: true, reuseport },
    sockets: [
      listener('L1', ip, 0, opts),
      listener('L2', ip, 1),
      connector('C1', a(ip, 0), a(ip, 1), opts, { echo: 'L2' }),
    ],
    prediction: reuseport
      ? { established: 1, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok' } }
      : { established: 0, outcomes: { L1: 'ok', L2: 'ok', C1: 'bind EADDRINUSE' } },
    predictionText: reuseport
      ? 'C1 binds the listening ip:port and connects from it'
      : "C1's bind fails with EADDRINUSE",
    explanation: reuseport
      ? 'SO_REUSEPORT on both sockets (same user) lets any number of sockets share an ip:port, listening or not. So an endpoint can listen and connect out from the same ip:port at once: the proof that every endpoint can both accept and connect, which the exact count N(N+1)/2 relies on.'
      : 'SO_REUSEADDR never lets a socket share an ip:port with a listening socket: Linux treats a listener as an exclusive owner (to stop connection hijacking). Both sockets setting SO_REUSEADDR is not enough; the bind fails with EADDRINUSE. (SO_REUSEPORT on only one of the two fails the same way.)',
  };
}

function selfConnect(family: 4 | 6): Experiment {
  const ip = family === 4 ? '127.0.0.1' : '::1';
  return {
    name: `self-connect${family === 6 ? '-v6' : ''}`,
    ...(family === 6 ? { of: 'self-connect' } : {}),
    summary: 'a socket bound to ip:P connects to ip:P, with no listener',
    family,
    variant: { family, reuseaddr: true, reuseport: false },
    sockets: [connector('C1', a(ip, 0), a(ip, 0), RA, { echo: 'self' })],
    prediction: { established: 1, outcomes: { C1: 'ok' } },
    predictionText:
      'the connect succeeds: the socket is connected to itself and reads back what it sends',
    explanation:
      "TCP simultaneous open: the socket's SYN arrives at its own address and port, where the socket itself is in SYN_SENT, so it answers SYN-ACK to itself and the connection establishes with local = remote. Nothing listens. This is why the exact count adds N self-connections: N(N+1)/2, not N(N-1)/2.",
  };
}

const EXPERIMENTS: Experiment[] = [
  diffPort(4, true),
  diffIp(true),
  oneListenerTwoIps(true),
  diffSourceIp(true),
  sameFourTuple(4),
  diffPort(4, false),
  diffIp(false),
  oneListenerTwoIps(false),
  diffSourceIp(false),
  {
    name: 'reverse-4-tuple',
    summary: 'after A:p connects to B:q, B:q tries to connect to A:p',
    family: 4,
    variant: { family: 4, reuseaddr: true, reuseport: true },
    sockets: [
      listener('L1', '127.0.0.1', 1, RA_RP),
      connector('C1', a('127.0.0.1', 0), a('127.0.0.1', 1), RA, { echo: 'L1' }),
      connector('C2', a('127.0.0.1', 1), a('127.0.0.1', 0), RA_RP),
    ],
    prediction: { established: 1, outcomes: { L1: 'ok', C1: 'ok', C2: 'connect EADDRNOTAVAIL' } },
    predictionText: "C2 binds L1's ip:port (SO_REUSEPORT) but its connect fails with EADDRNOTAVAIL",
    explanation:
      'A:p -> B:q seen from B is the 4-tuple (B:q, A:p): the connection L1 accepted already owns it. So B:q -> A:p is not a second connection but the same one, and the kernel refuses it. This is why the popular (nm)^2 answer counts every connection twice.',
  },
  listenerPortAsSource(4, false),
  listenerPortAsSource(4, true),
  listenerPortAsSource(6, true),
  {
    name: 'bind-zero-vs-no-port',
    summary:
      'bind(ip, 0) reserves a port exclusively; IP_BIND_ADDRESS_NO_PORT shares it across destinations',
    family: 4,
    variant: { family: 4, reuseaddr: true, reuseport: false, bindAddressNoPort: true },
    sockets: [
      listener('L1', '127.0.0.1', 1),
      listener('L2', '127.0.0.1', 2),
      // bind(ip, 0): the port is chosen and reserved at bind time
      connector('C1', a('127.0.0.1', 'kernel'), a('127.0.0.1', 1), RA, { echo: 'L1' }),
      // the same, restricted to C1's port: refused, even with SO_REUSEADDR on both
      connector('C2', a('127.0.0.1', 'kernel'), a('127.0.0.1', 2), RA, { portRangeOf: 'C1' }),
      // IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect(), knowing the destination
      connector(
        'C3',
        a('127.0.0.1', 'kernel'),
        a('127.0.0.1', 1),
        { ...RA, bindAddressNoPort: true },
        { echo: 'L1' },
      ),
      // restricted to C3's port, to another destination: the same source port, shared
      connector(
        'C4',
        a('127.0.0.1', 'kernel'),
        a('127.0.0.1', 2),
        { ...RA, bindAddressNoPort: true },
        { portRangeOf: 'C3', echo: 'L2' },
      ),
      // restricted to C1's port: a port reserved by bind() is never picked at connect time
      connector(
        'C5',
        a('127.0.0.1', 'kernel'),
        a('127.0.0.1', 2),
        { ...RA, bindAddressNoPort: true },
        { portRangeOf: 'C1' },
      ),
    ],
    prediction: {
      established: 3,
      outcomes: {
        L1: 'ok',
        L2: 'ok',
        C1: 'ok',
        C2: 'bind EADDRINUSE',
        C3: 'ok',
        C4: 'ok',
        C5: 'connect EADDRNOTAVAIL',
      },
      samePort: [['C3', 'C4']],
      differentPort: [['C1', 'C3']],
    },
    predictionText:
      "C2 cannot get C1's port (bind EADDRINUSE); C3 and C4 share one source port to two destinations; C5 cannot use C1's reserved port (connect EADDRNOTAVAIL)",
    explanation:
      'bind(ip, 0) must pick a port before the destination is known, so it picks one no other socket holds and keeps it to itself: a client doing bind-before-connect gets at most ~28k connections per source IP in total. With IP_BIND_ADDRESS_NO_PORT the port is chosen by connect(), which only needs the whole 4-tuple to be unique, so one source port serves many destinations (~28k connections per destination instead). The demo narrows each socket\'s port range to one port (IP_LOCAL_PORT_RANGE) to make the kernel\'s choice visible: "that port, or fail".',
  },
  selfConnect(4),
  diffPort(6, true),
  diffPort(6, false),
  sameFourTuple(6),
  selfConnect(6),
  {
    name: 'listener-restart',
    summary: 'restart a listener over a TIME_WAIT, SO_REUSEADDR on both listeners',
    family: 4,
    variant: { family: 4, oldReuseaddr: true, newReuseaddr: true },
    restart: { oldReuseaddr: true, newReuseaddr: true },
    prediction: {
      established: 2,
      outcomes: { L1: 'ok', C1: 'ok', L2: 'ok', C2: 'ok' },
    },
    predictionText: 'the new listener binds the port despite the TIME_WAIT, and accepts',
    explanation:
      'The side that closes first keeps the 4-tuple in TIME_WAIT for 60 s (2 x MSL on Linux), and that entry still holds the local ip:port. Here the server closed first, so its port is held. A TIME_WAIT entry remembers the SO_REUSEADDR of the socket it came from; when both it and the new listener have SO_REUSEADDR, bind() lets them share and the server restarts at once: the reason every server sets SO_REUSEADDR.',
  },
  {
    name: 'listener-restart-no-reuseaddr',
    of: 'listener-restart',
    summary: 'restart a listener over a TIME_WAIT, SO_REUSEADDR off on both listeners',
    family: 4,
    variant: { family: 4, oldReuseaddr: false, newReuseaddr: false },
    restart: { oldReuseaddr: false, newReuseaddr: false },
    prediction: { established: 1, outcomes: { L1: 'ok', C1: 'ok', L2: 'bind EADDRINUSE' } },
    predictionText: 'the new listener cannot bind: EADDRINUSE until the TIME_WAIT ages out (60 s)',
    explanation:
      'Nothing is listening and nothing is connected, yet the port is busy: the TIME_WAIT entry the orderly close left behind holds it, and without SO_REUSEADDR bind() refuses to share with it. The classic "Address already in use" after restarting a server.',
  },
  {
    name: 'listener-restart-new-only',
    of: 'listener-restart',
    summary: 'restart over a TIME_WAIT: SO_REUSEADDR on the new listener only',
    family: 4,
    variant: { family: 4, oldReuseaddr: false, newReuseaddr: true },
    restart: { oldReuseaddr: false, newReuseaddr: true },
    prediction: { established: 1, outcomes: { L1: 'ok', C1: 'ok', L2: 'bind EADDRINUSE' } },
    predictionText:
      'EADDRINUSE even though the new listener sets SO_REUSEADDR: the TIME_WAIT entry did not',
    explanation:
      'A TIME_WAIT entry inherits SO_REUSEADDR from the connection it came from, which inherits it from the listener that accepted it. Sharing needs both sides to agree, so a listener started without SO_REUSEADDR leaves TIME_WAITs that block even a well-behaved successor for 60 s.',
  },
];

/** The seed's connector experiments, each again with SO_REUSEPORT alone and with both options. */
const REUSEPORT_VARIANTS: Experiment[] = [
  diffPort(4, true),
  diffIp(true),
  oneListenerTwoIps(true),
  diffSourceIp(true),
  sameFourTuple(4),
].flatMap((e) => [reuseportVariant(e, false), reuseportVariant(e, true)]);

/** The families where ports run out, each in a world of its own (namespace, then per socket). */
function exhaustedFamilies(): Experiment[] {
  const sysctl = connectFamilies('sysctl');
  const socket = connectFamilies('socket');
  return [
    ...bindMatrix('sysctl'),
    ...bindMatrix('socket'),
    ...sysctl.strategies,
    ...socket.strategies,
    ...sysctl.ceilings,
    ...socket.ceilings,
  ];
}

/** Every experiment, in the order `fourtuple demo` runs them. */
export const CATALOGUE: readonly Experiment[] = [
  ...EXPERIMENTS,
  ...REUSEPORT_VARIANTS,
  ...orderFamilies(),
  ...exhaustedFamilies(),
];

/** The families that are not themselves an experiment, in one line each (for `demo --list`). */
export const FAMILY_SUMMARIES: Readonly<Record<string, string>> = {
  order:
    'order matters: a connector holds ip:P, then a listener binds ip:P, and the reverse, for each option set',
  'reuseport-fastpath':
    "SO_REUSEPORT alone joins a SO_REUSEADDR socket's port only after a third socket with both options vouched for it",
  'exhausted-bind':
    'a one-port world: bind(ip, 0) twice, 16 option pairs x ip_autobind_reuse 0/1 (the bind matrix)',
  'exhausted-connect':
    'a one-port world: two destinations by connect(), bind(ip, 0), autobind reuse, IP_BIND_ADDRESS_NO_PORT',
  'port-ceiling':
    'a world of K ports: connections to one destination until refused, then to a second',
};

/** An experiment's family: the `of` it varies, or its own name. */
export function familyOf(e: Experiment): string {
  return e.of ?? e.name;
}

/** The catalogue by family, families in the order their first member runs. */
export function catalogueFamilies(): { family: string; experiments: Experiment[] }[] {
  const by = new Map<string, Experiment[]>();
  for (const e of CATALOGUE) {
    const f = familyOf(e);
    by.set(f, [...(by.get(f) ?? []), e]);
  }
  return [...by].map(([family, experiments]) => ({ family, experiments }));
}

export function experimentNames(): string[] {
  return CATALOGUE.map((e) => e.name);
}

export function findExperiment(name: string): Experiment | undefined {
  return CATALOGUE.find((e) => e.name === name);
}

/** The highest port offset any experiment uses, so the runner reserves P..P+span. */
export const PORT_SPAN = 3;
