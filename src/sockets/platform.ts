/**
 * The platform's socket constants, chosen once at load. Linux is the target; on another OS the
 * commands that need raw sockets say so plainly (UnsupportedError) instead of misbehaving.
 */
import { UnsupportedError } from '../errors.js';
import { linux, type PlatformConstants } from './_linux.js';

const table: Partial<Record<NodeJS.Platform, PlatformConstants>> = { linux };

/** The constants for this OS, or undefined when raw sockets are not supported here. */
export const platformConstants: PlatformConstants | undefined = table[process.platform];

/** The constants for this OS; throws UnsupportedError elsewhere. */
export function constants(): PlatformConstants {
  if (!platformConstants) {
    throw new UnsupportedError(
      `raw socket control is implemented for Linux only; this is ${process.platform} ` +
        '(theory works everywhere; listen, connect, demo, prove and max need Linux)',
    );
  }
  return platformConstants;
}
