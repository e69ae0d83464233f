/**
 * The descriptor budget of a proof. Every endpoint listens (N descriptors); a connection
 * between two distinct endpoints holds two (the connecting socket and the accepted one); a
 * self-connection holds one (the socket is both ends). So N endpoints need
 * N + 2 * N(N-1)/2 + N = N^2 + N descriptors at once, and RLIMIT_NOFILE is per process.
 */
import { readFileSync } from 'node:fs';
import { FourtupleError } from '../errors.js';
import { openDescriptors } from '../sockets/rlimit.js';

export interface NofileLimit {
  soft: number;
  hard: number;
  source: string;
}

/** Parses the "Max open files" line of /proc/PID/limits ("unlimited" becomes Infinity). */
export function parseNofile(limits: string): { soft: number; hard: number } | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) return undefined;
  const n = (s: string): number => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/** RLIMIT_NOFILE of this process, from /proc/self/limits. */
export function readNofile(): NofileLimit {
  const source = '/proc/self/limits';
  let parsed: { soft: number; hard: number } | undefined;
  try {
    parsed = parseNofile(readFileSync(source, 'utf8'));
  } catch {
    parsed = undefined;
  }
  if (!parsed)
    throw new FourtupleError('FOURTUPLE_NO_LIMITS', `cannot read RLIMIT_NOFILE from ${source}`);
  return { ...parsed, source };
}

/** Descriptors a proof over N endpoints holds at its peak, by kind. */
export interface DescriptorNeed {
  endpoints: number;
  listeners: number;
  /** 2 per connection between distinct endpoints: N(N-1) */
  pairSockets: number;
  /** 1 per self-connection: N */
  selfSockets: number;
  /** extra attempts in flight at once (each one socket, closed as soon as it fails) */
  attemptsInFlight: number;
  /** N^2 + N + attemptsInFlight */
  total: number;
}

export function descriptorNeed(endpoints: number, attemptsInFlight: number): DescriptorNeed {
  const N = endpoints;
  return {
    endpoints: N,
    listeners: N,
    pairSockets: N * (N - 1),
    selfSockets: N,
    attemptsInFlight,
    total: N * N + N + attemptsInFlight,
  };
}

export interface BudgetCheck {
  ok: boolean;
  need: DescriptorNeed;
  /** descriptors this process already holds (stdio, epoll, node's own) */
  alreadyOpen: number;
  limit: NofileLimit;
  /** the largest N that fits */
  maxEndpoints: number;
  /** one line, when not ok: which limit stops it and how many descriptors it would need */
  reason?: string;
}

/** Whether N endpoints fit this process's descriptor limit. */
export function checkBudget(
  endpoints: number,
  attemptsInFlight: number,
  limit: NofileLimit = readNofile(),
  alreadyOpen: number = openDescriptors(),
): BudgetCheck {
  const need = descriptorNeed(endpoints, attemptsInFlight);
  const available = limit.soft - alreadyOpen;
  let maxEndpoints = 0;
  while (descriptorNeed(maxEndpoints + 1, attemptsInFlight).total <= available) maxEndpoints++;
  const ok = need.total <= available;
  const check: BudgetCheck = { ok, need, alreadyOpen, limit, maxEndpoints };
  if (!ok) {
    const g = (v: number): string => v.toLocaleString('en-US');
    check.reason =
      `${g(endpoints)} endpoints need ${g(need.total)} file descriptors in one process ` +
      `(${g(need.listeners)} listeners + ${g(need.pairSockets)} for ${g(need.pairSockets / 2)} ` +
      `connections between endpoints + ${g(need.selfSockets)} self-connections + ` +
      `${g(attemptsInFlight)} extra attempts in flight), but RLIMIT_NOFILE is ${g(limit.soft)} ` +
      `(hard ${g(limit.hard)}, ${limit.source}) and ${g(alreadyOpen)} are already open: at most ` +
      `${g(maxEndpoints)} endpoints fit`;
  }
  return check;
}
