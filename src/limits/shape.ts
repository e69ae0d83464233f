/** The shapes of traffic a prediction is for: presets and custom ones. Pure. */
import { InvalidOptionError } from '../errors.js';

export const PRESETS = ['one-client-one-server', 'many-ips', 'server-side'] as const;
export type Preset = (typeof PRESETS)[number];

/** The traffic a prediction is for. */
export interface Shape {
  /** a preset's name, or 'custom' for --from-ips/--to */
  name: Preset | 'custom';
  /** source IP addresses the clients use; null when clients are remote and unbounded */
  fromIps: bigint | null;
  /** destination ip:port endpoints (listeners) */
  destinations: bigint;
  /** true when both ends of each connection are on this machine (loopback) */
  bothEndsLocal: boolean;
  description: string;
}

/** Loopback source addresses the many-ips preset uses: 127.0.0.1 to 127.0.0.254. */
export const MANY_IPS = 254n;

export function presetShape(preset: Preset): Shape {
  switch (preset) {
    case 'one-client-one-server':
      return {
        name: preset,
        fromIps: 1n,
        destinations: 1n,
        bothEndsLocal: true,
        description: 'one source IP to one listener ip:port, both ends on this machine',
      };
    case 'many-ips':
      return {
        name: preset,
        fromIps: MANY_IPS,
        destinations: 1n,
        bothEndsLocal: true,
        description: `${MANY_IPS} loopback source IPs (127.0.0.1-127.0.0.254) to one listener, both ends on this machine`,
      };
    case 'server-side':
      return {
        name: preset,
        fromIps: null,
        destinations: 1n,
        bothEndsLocal: false,
        description:
          'one listener accepting clients on other machines (only the server end is here)',
      };
  }
}

/** K source IPs to D destination endpoints; both ends local unless told otherwise. */
export function customShape(fromIps: bigint, destinations: bigint, bothEndsLocal = true): Shape {
  if (fromIps < 1n) throw new InvalidOptionError('fromIps', 'at least 1', String(fromIps));
  if (destinations < 1n) {
    throw new InvalidOptionError('destinations', 'at least 1', String(destinations));
  }
  return {
    name: 'custom',
    fromIps,
    destinations,
    bothEndsLocal,
    description:
      `${fromIps} source IP(s) to ${destinations} destination ip:port(s), ` +
      (bothEndsLocal ? 'both ends on this machine' : 'only the client end on this machine'),
  };
}
