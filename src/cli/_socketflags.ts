/** Options shared by the commands that make sockets (listen, connect). */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { netnsPath } from '../sockets/netns.js';
import type { Spec } from './_spec.js';

/** NAME -> /run/netns/NAME, checked to exist. */
function hostNs(name: string): string {
  // "." and ".." are the netns directory and its parent, never a namespace
  if (!/^[\w.-]{1,64}$/.test(name) || name === '.' || name === '..') {
    throw new UsageError(
      `--host-ns must be a network namespace name (letters, digits, . _ -; not . or ..) (got "${name}")`,
      'host-ns',
    );
  }
  const path = netnsPath(name);
  if (!existsSync(path)) {
    throw new UsageError(
      `--host-ns: no network namespace "${name}" (see \`ip netns list\`)`,
      'host-ns',
    );
  }
  return path;
}

export const NETNS_OPTION = {
  'host-ns': {
    type: 'custom',
    placeholder: 'NAME',
    accepts: 'a network namespace name (letters, digits, . _ -)',
    field: 'netnsPath',
    description: 'create the socket inside network namespace NAME (see `fourtuple hosts`)',
    parse: hostNs,
  },
} as const satisfies Spec;

/** SO_REUSEADDR and SO_REUSEPORT, as listen and connect both take them. */
export const REUSE_OPTIONS = {
  reuseaddr: {
    type: 'boolean',
    negatable: true,
    default: true,
    description: 'SO_REUSEADDR, on as in the seed',
  },
  reuseport: { type: 'boolean', negatable: true, default: false, description: 'SO_REUSEPORT' },
} as const satisfies Spec;
