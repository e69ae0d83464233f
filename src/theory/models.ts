/**
 * Exact counts of TCP connections among n machines with m ports each (and k IP addresses per
 * machine), under every model that circulates. Pure BigInt arithmetic: no I/O, no limits on size.
 *
 * An endpoint is one (ip, port). A TCP connection is identified by its 4-tuple, and the 4-tuple
 * seen from A (A:p -> B:q) is the reverse of the one seen from B (B:q -> A:p): both hosts hold
 * the same connection. So a connection is an *unordered* pair of endpoints, and an endpoint can
 * also be paired with itself (a socket connected to itself by TCP simultaneous open).
 */

export interface ModelInput {
  /** number of machines, n >= 1 */
  machines: bigint;
  /** ports per IP address, m >= 1 */
  ports: bigint;
  /** IP addresses per machine, k >= 1 */
  ipsPerMachine: bigint;
}

export interface ModelCounts {
  /** floor(N/2): each port is a plug used by exactly one connection */
  socketAnalogy: bigint;
  /** E(n-1): every endpoint of every other machine connects to one listener on one machine */
  serverStar: bigint;
  /** the best "listeners accept many, clients connect once" arrangement: max(E(n-1), N-2) */
  serverBest: bigint;
  /** N^2 = (nm)^2: the popular answer, every (src ip, src port, dst ip, dst port) counted */
  orderedTuples: bigint;
  /** N(N+1)/2: unordered pairs of endpoints plus one self-connection per endpoint */
  exact: bigint;
  /** N(N-1)/2: unordered pairs of distinct endpoints */
  exactWithoutSelf: bigint;
  /** C(n,2) E^2: connections whose two ends are on different machines */
  betweenMachines: bigint;
}

export type ModelName = keyof ModelCounts;

/** Models in the order they are usually shown: the naive ones first, the exact one last. */
export const MODEL_ORDER: readonly ModelName[] = [
  'socketAnalogy',
  'serverStar',
  'serverBest',
  'betweenMachines',
  'exactWithoutSelf',
  'exact',
  'orderedTuples',
];

/** Each model's short name, as the CLI's tables and the report page show it. */
export const MODEL_LABEL: Readonly<Record<ModelName, string>> = {
  socketAnalogy: 'socket analogy',
  serverStar: 'one server',
  serverBest: 'best with servers',
  betweenMachines: 'between machines',
  exactWithoutSelf: 'exact, no self',
  exact: 'exact',
  orderedTuples: 'popular 4-tuple',
};

/**
 * Each model's count as a short formula in n machines and m ports (one IP per machine), as the
 * proof's table prints it beside the count. Kept with the counts so the two cannot disagree.
 */
export const MODEL_FORMULA: Readonly<Record<ModelName, string>> = {
  socketAnalogy: 'floor(nm/2)',
  serverStar: 'm(n-1)',
  serverBest: 'max(m(n-1), nm-2)',
  betweenMachines: 'C(n,2) m^2',
  exactWithoutSelf: 'nm(nm-1)/2',
  exact: 'nm(nm+1)/2',
  orderedTuples: '(nm)^2',
};

/** One line per model: how the count is derived, in words a reader can check. */
export const MODEL_DERIVATION: Readonly<Record<ModelName, string>> = {
  socketAnalogy: 'floor(N/2): each port is a plug that takes one cable, so endpoints pair off',
  serverStar:
    'E(n-1): one machine listens on one port; every endpoint of every other machine connects to it',
  serverBest:
    'max(E(n-1), N-2) for n>=2: two listeners on different machines, every other endpoint connects once',
  orderedTuples:
    'N^2 = (nm)^2: every (src ip:port, dst ip:port) combination, counting A->B and B->A separately',
  exact: 'N(N+1)/2: every unordered pair of endpoints, plus each endpoint connected to itself',
  exactWithoutSelf: 'N(N-1)/2: every unordered pair of distinct endpoints',
  betweenMachines: 'C(n,2) E^2: pairs of endpoints on two different machines',
};

/** Why the popular 4-tuple answer is wrong, in one paragraph. */
export const DOUBLE_COUNT_EXPLANATION =
  'The popular answer, (nm)^2, counts every ordered (source, destination) pair. But a TCP ' +
  'connection is one 4-tuple seen from both ends: A:p -> B:q on host A is B:q -> A:p on host B, ' +
  'and once it exists the kernel refuses the reverse connect with EADDRNOTAVAIL. So connections ' +
  'are unordered pairs of endpoints, N(N-1)/2, plus N self-connections (a socket bound to ip:p ' +
  'that connects to ip:p is connected to itself by simultaneous open): N(N+1)/2, about half ' +
  'the popular figure.';

function assertPositive(name: string, v: bigint): void {
  if (v < 1n) throw new RangeError(`${name} must be >= 1 (got ${v})`);
}

/** Endpoints per machine (E = k m) and in all (N = n k m). */
export function endpoints(input: ModelInput): { perMachine: bigint; total: bigint } {
  const perMachine = input.ipsPerMachine * input.ports;
  return { perMachine, total: input.machines * perMachine };
}

/** Every model's count for n machines x k IPs x m ports. Throws RangeError on values < 1. */
export function countModels(input: ModelInput): ModelCounts {
  assertPositive('machines', input.machines);
  assertPositive('ports', input.ports);
  assertPositive('ipsPerMachine', input.ipsPerMachine);
  const n = input.machines;
  const { perMachine: e, total: N } = endpoints(input);
  const serverStar = e * (n - 1n);
  const serverBest = n >= 2n ? (N - 2n > serverStar ? N - 2n : serverStar) : 0n;
  return {
    socketAnalogy: N / 2n,
    serverStar,
    serverBest,
    orderedTuples: N * N,
    exact: (N * (N + 1n)) / 2n,
    exactWithoutSelf: (N * (N - 1n)) / 2n,
    betweenMachines: ((n * (n - 1n)) / 2n) * e * e,
  };
}

/**
 * A BigInt in scientific notation with `digits` significant digits, e.g. 7.923e+28.
 * Rounds half up on the last digit; exact for any size.
 */
export function toScientific(value: bigint, digits = 4): string {
  const negative = value < 0n;
  const s = (negative ? -value : value).toString();
  if (s.length <= digits) return (negative ? '-' : '') + s;
  let mantissa = BigInt(s.slice(0, digits));
  if ((s.charCodeAt(digits) ?? 48) >= 53) mantissa += 1n; // next digit >= '5'
  let exponent = s.length - 1;
  let m = mantissa.toString();
  if (m.length > digits) {
    m = m.slice(0, digits);
    exponent += 1;
  }
  const body = m.length > 1 ? `${m[0]}.${m.slice(1)}` : m;
  return `${negative ? '-' : ''}${body}e+${exponent}`;
}
