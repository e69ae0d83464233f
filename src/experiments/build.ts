/** Helpers that spell catalogue entries: option sets, listeners, connectors, addresses. */
import type { AddrSpec, ConnectorSpec, ListenerSpec, OptionSpec } from './spec.js';

export const RA: OptionSpec = { reuseaddr: true };
export const NONE: OptionSpec = { reuseaddr: false };
export const RA_RP: OptionSpec = { reuseaddr: true, reuseport: true };

export function listener(
  id: string,
  ip: string,
  port: number,
  options: OptionSpec = RA,
): ListenerSpec {
  return { role: 'listener', id, at: { ip, port }, options };
}

export function connector(
  id: string,
  from: AddrSpec | undefined,
  to: AddrSpec,
  options: OptionSpec,
  extra: Partial<ConnectorSpec> = {},
): ConnectorSpec {
  return { role: 'connector', id, ...(from ? { from } : {}), to, options, ...extra };
}

export const a = (ip: string, port: number | 'kernel'): AddrSpec => ({ ip, port });
