/**
 * When ports run out: experiments in a world of their own whose ephemeral range is one port (or
 * K ports), each predicted from the kernel's rules (net/ipv4/inet_connection_sock.c,
 * net/ipv4/inet_hashtables.c) before it was run:
 *
 * - exhausted-bind: two sockets bind(ip, 0) in a one-port world, 16 option pairs x
 *   ip_autobind_reuse 0/1 (and again with IP_LOCAL_PORT_RANGE instead of the sysctl);
 * - exhausted-connect: two connections to two destinations by connect() alone, bind(ip, 0),
 *   bind(ip, 0) with ip_autobind_reuse, and IP_BIND_ADDRESS_NO_PORT;
 * - port-ceiling: fill K ports to one destination, then to another.
 */
import { a } from '../build.js';
import type { Experiment, OptionSpec, WorldSpec } from '../spec.js';

const IP = '127.0.0.1';
type Via = WorldSpec['via'];

/** The four SO_REUSEADDR x SO_REUSEPORT combinations, with a short code for names. */
export const OPTION_PAIRS: readonly {
  code: string;
  options: Required<Pick<OptionSpec, 'reuseaddr' | 'reuseport'>>;
}[] = [
  { code: 'none', options: { reuseaddr: false, reuseport: false } },
  { code: 'ra', options: { reuseaddr: true, reuseport: false } },
  { code: 'rp', options: { reuseaddr: false, reuseport: true } },
  { code: 'both', options: { reuseaddr: true, reuseport: true } },
];

const viaSuffix = (via: Via): string => (via === 'socket' ? '-sockopt' : '');
const viaWords = (via: Via): string =>
  via === 'socket' ? ' (per-socket IP_LOCAL_PORT_RANGE)' : '';

/** Why the second bind(ip, 0) does or does not get the one port, from the kernel's rules. */
function bindRule(
  first: OptionSpec,
  second: OptionSpec,
  autobindReuse: 0 | 1,
): { ok: boolean; why: string } {
  const scan =
    'bind(ip, 0) asks inet_csk_get_port() for any port; inet_csk_find_open_port() scans the range and takes a port only when inet_csk_bind_conflict() finds no conflict with its other owners.';
  if (autobindReuse === 0) {
    return {
      ok: false,
      why: `${scan} Its first pass runs with relax=false, where every other owner is a conflict whatever the options (SO_REUSEADDR and SO_REUSEPORT only help an explicit port). B1 holds the one port, and with ip_autobind_reuse=0 there is no second pass: EADDRINUSE. In a one-port world bind(ip, 0) is exhausted after one socket.`,
    };
  }
  const relaxed = `${scan} The first pass (relax=false) refuses B1's port; ip_autobind_reuse=1 adds a second pass with relax=true, where two sockets may share when both set SO_REUSEADDR and neither listens (sk->sk_reuse && sk2->sk_reuse),`;
  if (!first.reuseaddr || !second.reuseaddr) {
    const lacking =
      !first.reuseaddr && !second.reuseaddr
        ? 'neither socket sets SO_REUSEADDR'
        : `${first.reuseaddr ? 'B2' : 'B1'} does not set SO_REUSEADDR`;
    return {
      ok: false,
      why: `${relaxed} but ${lacking}, so even the relaxed pass finds a conflict: EADDRINUSE.`,
    };
  }
  if (first.reuseport && second.reuseport) {
    return {
      ok: false,
      why: `${relaxed} except when both also set SO_REUSEPORT (same user): this path calls inet_csk_bind_conflict() with reuseport_ok=false, because two such sockets could then both listen() on the port. Both set it here: EADDRINUSE.`,
    };
  }
  return {
    ok: true,
    why: `${relaxed} unless both also set SO_REUSEPORT. Both set SO_REUSEADDR and not both SO_REUSEPORT: B2 gets B1's port, to be told apart later by destination (__inet_hash_connect() checks the whole 4-tuple at connect time).`,
  };
}

function exhaustedBind(
  first: (typeof OPTION_PAIRS)[number],
  second: (typeof OPTION_PAIRS)[number],
  autobindReuse: 0 | 1,
  via: Via,
): Experiment {
  const { ok, why } = bindRule(first.options, second.options, autobindReuse);
  return {
    name: `exhausted-bind-${first.code}-${second.code}-autobind${autobindReuse}${viaSuffix(via)}`,
    of: 'exhausted-bind',
    summary: `one-port world, ip_autobind_reuse=${autobindReuse}: bind(ip, 0) twice, B1 ${first.code}, B2 ${second.code}${viaWords(via)}`,
    family: 4,
    variant: {
      reuseaddr: [first.options.reuseaddr, second.options.reuseaddr],
      reuseport: [first.options.reuseport, second.options.reuseport],
      autobindReuse,
      via,
    },
    world: { ports: 1, autobindReuse, via },
    sockets: [
      { role: 'connector', id: 'B1', from: a(IP, 'kernel'), options: first.options },
      { role: 'connector', id: 'B2', from: a(IP, 'kernel'), options: second.options },
    ],
    prediction: ok
      ? { established: 0, outcomes: { B1: 'ok', B2: 'ok' }, samePort: [['B1', 'B2']] }
      : { established: 0, outcomes: { B1: 'ok', B2: 'bind EADDRINUSE' } },
    predictionText: ok ? "B2's bind shares B1's one port" : "B2's bind fails with EADDRINUSE",
    explanation: why,
  };
}

/** The 16 x 2 bind matrix, for one way of narrowing the range. */
export function bindMatrix(via: Via): Experiment[] {
  const out: Experiment[] = [];
  for (const autobindReuse of [0, 1] as const) {
    for (const first of OPTION_PAIRS) {
      for (const second of OPTION_PAIRS) out.push(exhaustedBind(first, second, autobindReuse, via));
    }
  }
  return out;
}
