/**
 * `theory`: every model's count for n machines x m ports (x k IPs), exact, with the one
 * practical figure that depends on this machine: how many connections one source IP can open
 * to one destination ip:port (the ephemeral port range).
 */

import { ephemeralPortRange, type PortRange } from '../limits/procfs.js';
import { type Tagged, tag } from '../result.js';
import { countModels, endpoints, type ModelCounts, toScientific } from './models.js';

export * from './models.js';

export interface TheoryOptions {
  machines: bigint;
  ports: bigint;
  ipsPerMachine?: bigint;
  /** the ephemeral range to report; read from this machine when omitted */
  portRange?: PortRange;
}

export interface PerDestination {
  /** connections one source IP can hold to one destination ip:port */
  connections: bigint;
  low: number;
  high: number;
  source: string;
  why: string;
}

export interface TheoryResult extends Tagged<'theory'> {
  machines: bigint;
  ports: bigint;
  ipsPerMachine: bigint;
  endpoints: bigint;
  models: ModelCounts;
  perDestination: PerDestination;
}

export function perDestination(range: PortRange): PerDestination {
  return {
    connections: BigInt(range.size),
    low: range.low,
    high: range.high,
    source: range.source,
    why:
      'a connection to one destination ip:port from one source IP differs only in its source ' +
      `port, and the kernel picks those from ${range.low}-${range.high} when the socket does not ` +
      'bind one itself',
  };
}

/** What a client run can reach at most, and how to reach more: see destinationCeiling. */
export interface DestinationCeiling {
  /** sources x destinations x ephemeral ports */
  ceiling: number;
  /** the text that says so, with the ways past it; undefined when `wanted` fits */
  warning: string | undefined;
}

/**
 * The seed's per-destination limit for a client run: each (source IP, destination ip:port) pair
 * takes at most one connection per ephemeral port, so `sources` IPs to `destinations` listeners
 * hold at most sources x destinations x range.size at once. Said before a run, not after it
 * stops at EADDRNOTAVAIL.
 */
export function destinationCeiling(
  wanted: number,
  destinations: number,
  range: PortRange,
  sources = 1,
): DestinationCeiling {
  const ceiling = sources * destinations * range.size;
  if (wanted <= ceiling) return { ceiling, warning: undefined };
  const plural = (k: number, one: string) => `${k} ${one}${k === 1 ? '' : 's'}`;
  return {
    ceiling,
    warning:
      `${wanted} connections asked, but ${plural(sources, 'source IP')} to ${plural(destinations, 'destination ip:port')} ` +
      `hold at most ${ceiling} at once (${range.size} ephemeral ports, ${range.low}-${range.high}, per pair): ` +
      'the run will stop at EADDRNOTAVAIL. For more, add destination ports or listeners, add source ' +
      'IPs (more client machines: `fourtuple agent`), or widen net.ipv4.ip_local_port_range.',
  };
}

/** Counts for n machines x m ports x k IPs per machine. Throws RangeError on values < 1. */
export function theory(options: TheoryOptions): TheoryResult {
  const input = {
    machines: options.machines,
    ports: options.ports,
    ipsPerMachine: options.ipsPerMachine ?? 1n,
  };
  const models = countModels(input);
  return {
    ...tag('theory'),
    ...input,
    endpoints: endpoints(input).total,
    models,
    perDestination: perDestination(options.portRange ?? ephemeralPortRange()),
  };
}

export type AddressFamily = 'ipv4' | 'ipv6';

export interface InternetResult extends TheoryResult {
  family: AddressFamily;
  /** each model's count in scientific notation */
  scientific: Record<keyof ModelCounts, string>;
}

/** Usable TCP ports per address: 1-65535 (port 0 means "any" and is never a connection's). */
export const USABLE_PORTS = 65535n;

/**
 * The seed's "practical" numbers for a whole address space: every IPv4 (2^32) or IPv6 (2^128)
 * address as a machine with 65535 usable ports.
 */
export function internetTheory(family: AddressFamily, portRange?: PortRange): InternetResult {
  const machines = family === 'ipv4' ? 2n ** 32n : 2n ** 128n;
  const result = theory({
    machines,
    ports: USABLE_PORTS,
    ...(portRange ? { portRange } : {}),
  });
  const scientific = Object.fromEntries(
    Object.entries(result.models).map(([k, v]) => [k, toScientific(v, 4)]),
  ) as Record<keyof ModelCounts, string>;
  return { ...result, family, scientific };
}
