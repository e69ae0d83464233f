/**
 * Sharing an ip:port on loopback, one step past the seed experiments:
 *
 * - the seed's connector experiments with SO_REUSEPORT alone, and with both options on;
 * - order matters: a connector holds ip:P, then a listener binds ip:P, and the reverse;
 * - self-connect with a listener on the same ip:port: which side sees the connection.
 *
 * Predictions follow inet_csk_get_port() and inet_csk_bind_conflict()
 * (net/ipv4/inet_connection_sock.c) and the receive path's lookup order.
 */
import { a, connector, listener, RA_RP } from '../build.js';
import type { Experiment, OptionSpec } from '../spec.js';
import { OPTION_PAIRS } from './exhausted.js';

const IP = '127.0.0.1';

/** `base` (a seed experiment whose connectors set SO_REUSEADDR) with SO_REUSEPORT on them. */
export function reuseportVariant(base: Experiment, reuseaddr: boolean): Experiment {
  const options: OptionSpec = { reuseaddr, reuseport: true };
  const sockets = (base.sockets ?? []).map((s) =>
    s.role === 'connector' ? { ...s, options: { ...s.options, ...options } } : s,
  );
  const refused = Object.entries(base.prediction.outcomes).find(([, o]) => o !== 'ok');
  const rule = reuseaddr
    ? "With SO_REUSEADDR and SO_REUSEPORT on both connectors, either rule of inet_csk_get_port() lets the second bind() share the ip:port the first (connected, not listening) holds: the bind bucket's fastreuse (both SO_REUSEADDR, neither listening) or sk_reuseport_match() (both SO_REUSEPORT, same user)."
    : "SO_REUSEPORT alone is enough for connectors: the first socket to bind the ip:port set it, so the port's bind bucket has fastreuseport set, and inet_csk_get_port() lets any later SO_REUSEPORT socket of the same user share it (sk_reuseport_match()), connected or not; SO_REUSEADDR plays no part.";
  const after = base.name.startsWith('diff-source-ip')
    ? ' (Here the sources differ in IP, so there is nothing to share anyway.)'
    : refused
      ? ` The bind succeeds, but ${refused[0]}'s 4-tuple already exists: __inet_hash_connect() -> __inet_check_established() finds it taken, and connect() fails with EADDRNOTAVAIL.`
      : ' connect() then only needs a new 4-tuple (__inet_hash_connect()), and the destinations differ: both connect.';
  return {
    ...base,
    name: `${base.name}-${reuseaddr ? 'reuseaddr-' : ''}reuseport`,
    of: base.of ?? base.name,
    summary: `${base.summary}, ${reuseaddr ? 'SO_REUSEADDR + SO_REUSEPORT' : 'SO_REUSEPORT alone'} on the connectors`,
    variant: { ...base.variant, reuseaddr, reuseport: true },
    sockets,
    explanation: `${rule}${after}`,
  };
}

type Pair = (typeof OPTION_PAIRS)[number];
const CONNECTOR_OPTIONS: readonly Pair[] = OPTION_PAIRS.filter((p) => p.options.reuseaddr);

/** A connector holds ip:P (connected), then a listener binds and listens on ip:P. */
function connectorFirst(l: Pair, c: Pair): Experiment {
  const ok = l.options.reuseaddr || (l.options.reuseport && c.options.reuseport);
  const why = l.options.reuseaddr
    ? `At L2's bind(), inet_csk_get_port() takes the fast path: the bind bucket's fastreuse is set (C1 bound with SO_REUSEADDR) and L2 sets it too. listen() asks inet_csk_get_port() again, now as a listener, for which the SO_REUSEADDR fast path no longer applies. ${
        l.options.reuseport
          ? 'L2 also sets SO_REUSEPORT, and its own bind() marked the bucket for SO_REUSEPORT sockets of its user on this address (inet_csk_update_fastreuse(): fastreuseport, FASTREUSEPORT_STRICT), so sk_reuseport_match() lets listen() through without the conflict check. Had inet_csk_bind_conflict() run, it would have agreed:'
          : 'So inet_csk_bind_conflict() runs:'
      } it refuses to share with a socket that *is* listening (sk2->sk_state == TCP_LISTEN), but C1 is only connected, and both set SO_REUSEADDR: no conflict. The check looks at the other socket's state, not at the new one's, so a listener may join a connector's port though a connector may not join a listener's.`
    : ok
      ? "L2 has no SO_REUSEADDR, but both set SO_REUSEPORT (same user): sk_reuseport_match() lets L2 bind and listen on C1's port."
      : `L2 sets ${l.options.reuseport ? 'SO_REUSEPORT but C1 does not' : 'neither option'}, so inet_csk_bind_conflict() finds C1 a conflict: sharing needs SO_REUSEADDR on both (sk->sk_reuse && sk2->sk_reuse) or SO_REUSEPORT on both. L2's bind fails with EADDRINUSE and C3 finds nothing listening on ip:P.`;
  return {
    name: `order-connector-first-l${l.code}-c${c.code}`,
    of: 'order',
    summary: `C1 connects from ${IP}:P (${c.code}), then L2 listens on ${IP}:P (${l.code})`,
    family: 4,
    variant: { first: 'connector', listener: l.code, connector: c.code },
    sockets: [
      listener('L0', IP, 1),
      connector('C1', a(IP, 0), a(IP, 1), c.options, { echo: 'L0' }),
      listener('L2', IP, 0, l.options),
      connector('C3', undefined, a(IP, 0), {}, ok ? { echo: 'L2' } : {}),
    ],
    prediction: ok
      ? { established: 2, outcomes: { L0: 'ok', C1: 'ok', L2: 'ok', C3: 'ok' } }
      : {
          established: 1,
          outcomes: { L0: 'ok', C1: 'ok', L2: 'bind EADDRINUSE', C3: 'connect ECONNREFUSED' },
        },
    predictionText: ok
      ? 'L2 binds and listens on the port C1 connects from, and accepts C3'
      : "L2's bind fails with EADDRINUSE",
    explanation: why,
  };
}

/** A listener holds ip:P, then a connector binds ip:P and connects elsewhere. */
function listenerFirst(l: Pair, c: Pair): Experiment {
  const ok = l.options.reuseport && c.options.reuseport;
  return {
    name: `order-listener-first-l${l.code}-c${c.code}`,
    of: 'order',
    summary: `L2 listens on ${IP}:P (${l.code}), then C1 binds ${IP}:P (${c.code}) and connects`,
    family: 4,
    variant: { first: 'listener', listener: l.code, connector: c.code },
    sockets: [
      listener('L0', IP, 1),
      listener('L2', IP, 0, l.options),
      connector('C1', a(IP, 0), a(IP, 1), c.options, ok ? { echo: 'L0' } : {}),
    ],
    prediction: ok
      ? { established: 1, outcomes: { L0: 'ok', L2: 'ok', C1: 'ok' } }
      : { established: 0, outcomes: { L0: 'ok', L2: 'ok', C1: 'bind EADDRINUSE' } },
    predictionText: ok
      ? "C1 binds the listener's ip:port and connects from it"
      : "C1's bind fails with EADDRINUSE",
    explanation: ok
      ? 'Both set SO_REUSEPORT (same user): sk_reuseport_match() in inet_csk_get_port() lets C1 share the listening ip:port.'
      : `After listen() the port's bind bucket no longer has fastreuse (a listener never counts as reusable), so C1's bind goes to inet_csk_bind_conflict(), where a listening owner (sk2->sk_state == TCP_LISTEN) is a conflict unless both sockets set SO_REUSEPORT${l.options.reuseport ? '; C1 does not' : c.options.reuseport ? '; L2 does not' : ''}. SO_REUSEADDR on both is not enough: EADDRINUSE.`,
  };
}

/** A socket bound to the ip:port a listener holds connects to that same ip:port. */
function selfConnectListener(): Experiment {
  return {
    name: 'self-connect-listener',
    of: 'self-connect',
    summary: 'a socket bound to ip:P connects to ip:P while a listener holds ip:P',
    family: 4,
    variant: { family: 4, reuseaddr: true, reuseport: true },
    observeAccepted: true,
    sockets: [
      listener('L1', IP, 0, RA_RP),
      connector('C1', a(IP, 0), a(IP, 0), RA_RP, { echo: 'self' }),
    ],
    prediction: { established: 1, outcomes: { L1: 'ok', C1: 'ok', 'L1 accepted': '0' } },
    predictionText: 'C1 connects to itself and reads back its own bytes; L1 accepts nothing',
    explanation:
      "C1 may bind L1's ip:port (SO_REUSEPORT on both). Its connect() hashes it under the 4-tuple (ip:P, ip:P) in the established table (__inet_hash_connect()), and an incoming segment is looked up there before any listener (__inet_lookup_established() before the listening lookup). So C1's own SYN reaches C1, in SYN_SENT: a simultaneous open with itself. L1 never sees a SYN: established on one side, nothing in the listener's accept queue.",
  };
}

/**
 * The SO_REUSEPORT fast path remembers who vouched: C2 (SO_REUSEPORT alone) binds the ip:P that
 * C1 (SO_REUSEADDR alone) holds: refused, unless a listener with both options bound ip:P in
 * between (`vouched`).
 */
function reuseportFastPath(vouched: boolean): Experiment {
  const c2 = connector(
    'C2',
    a(IP, 0),
    a(IP, 2),
    { reuseaddr: false, reuseport: true },
    vouched ? { echo: 'L2' } : {},
  );
  return {
    name: `reuseport-fastpath-${vouched ? 'vouched' : 'control'}`,
    of: 'reuseport-fastpath',
    summary: vouched
      ? 'C1 (SO_REUSEADDR) holds ip:P, L3 (both options) listens on ip:P, then C2 (SO_REUSEPORT alone) binds ip:P'
      : 'C1 (SO_REUSEADDR) holds ip:P, then C2 (SO_REUSEPORT alone) binds ip:P',
    family: 4,
    variant: { vouched, reuseaddr: [true, false], reuseport: [false, true] },
    sockets: [
      listener('L1', IP, 1),
      listener('L2', IP, 2),
      connector('C1', a(IP, 0), a(IP, 1), { reuseaddr: true, reuseport: false }, { echo: 'L1' }),
      ...(vouched ? [listener('L3', IP, 0, RA_RP)] : []),
      c2,
    ],
    prediction: vouched
      ? { established: 2, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', L3: 'ok', C2: 'ok' } }
      : { established: 1, outcomes: { L1: 'ok', L2: 'ok', C1: 'ok', C2: 'bind EADDRINUSE' } },
    predictionText: vouched
      ? "C2 binds C1's port although C1 never set SO_REUSEPORT, and connects"
      : "C2's bind fails with EADDRINUSE",
    explanation: vouched
      ? "L3's bind() passed (SO_REUSEADDR fast path) and, as a SO_REUSEPORT socket that conflicts with nobody in the bucket, reset the bucket's SO_REUSEPORT fast path for its user and address (inet_csk_update_fastreuse(): fastreuseport = FASTREUSEPORT_STRICT). C2 matches it (SO_REUSEPORT, same user, same address), so inet_csk_get_port() skips inet_csk_bind_conflict() altogether: C2 shares the port with C1, which never set SO_REUSEPORT and, as the control shows, would otherwise refuse it. Its connect() needs only a new 4-tuple (__inet_hash_connect())."
      : "C1 set SO_REUSEADDR only, so the bucket's SO_REUSEPORT fast path is off (fastreuseport 0) and inet_csk_get_port() asks inet_csk_bind_conflict(): C2 has no SO_REUSEADDR and C1 no SO_REUSEPORT, so neither rule lets them share: EADDRINUSE.",
  };
}

/** The order experiments (both orders, every listener option set, two connector sets), then self-connect. */
export function orderFamilies(): Experiment[] {
  const out: Experiment[] = [];
  for (const c of CONNECTOR_OPTIONS) for (const l of OPTION_PAIRS) out.push(connectorFirst(l, c));
  for (const c of CONNECTOR_OPTIONS) for (const l of OPTION_PAIRS) out.push(listenerFirst(l, c));
  out.push(selfConnectListener(), reuseportFastPath(false), reuseportFastPath(true));
  return out;
}
