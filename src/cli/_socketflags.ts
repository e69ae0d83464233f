/** Flags shared by the commands that make sockets (listen, connect). */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { netnsPath } from '../sockets/netns.js';
import type { OptionSpec, ParsedValues } from './_command.js';

export const NETNS_OPTION: OptionSpec = { 'host-ns': { type: 'string' } };

/** --host-ns NAME -> /run/netns/NAME, checked to exist. */
export function hostNsFlag(values: ParsedValues): string | undefined {
  const name = values['host-ns'];
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || !/^[\w.-]{1,64}$/.test(name)) {
    throw new UsageError(
      '--host-ns must be a network namespace name (letters, digits, . _ -)',
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

/** A boolean flag with a --no- form: true, false, or the default when absent. */
export function onOff(values: ParsedValues, flag: string, fallback: boolean): boolean {
  const v = values[flag];
  return typeof v === 'boolean' ? v : fallback;
}
