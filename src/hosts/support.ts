/** Can this process build a netns lab? Checked, not guessed: the last step creates a namespace. */
import { readFileSync } from 'node:fs';
import { FourtupleError } from '../errors.js';
import { runIp } from './ip.js';
import { newRunId, probeName } from './names.js';

export interface NetnsSupport {
  ok: boolean;
  /** why not, in one line, when ok is false */
  reason?: string;
}

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** The effective capability set from /proc/self/status (`CapEff: 000001ffffffffff`). */
export function parseCapEff(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

function hasCap(caps: bigint, bit: number): boolean {
  return ((caps >> BigInt(bit)) & 1n) === 1n;
}

let cached: Promise<NetnsSupport> | undefined;

/**
 * Whether this process may create network namespaces, with the reason when not: not Linux, not
 * root (needs CAP_SYS_ADMIN and CAP_NET_ADMIN), no `ip` command, or the kernel/container refuses
 * (checked by creating and removing a namespace `ft-<id>-probe`). The answer is cached;
 * `{ fresh: true }` asks again.
 */
export function canUseNetns(options: { fresh?: boolean } = {}): Promise<NetnsSupport> {
  if (!cached || options.fresh) cached = check();
  return cached;
}

async function check(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `network namespaces are Linux-only (this is ${process.platform})` };
  }
  let caps: bigint | undefined;
  try {
    caps = parseCapEff(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    caps = undefined;
  }
  const uid = process.getuid?.() ?? -1;
  if (caps !== undefined && !(hasCap(caps, CAP_SYS_ADMIN) && hasCap(caps, CAP_NET_ADMIN))) {
    return {
      ok: false,
      reason:
        uid === 0
          ? 'running as root without CAP_SYS_ADMIN and CAP_NET_ADMIN (a restricted container?)'
          : `not root (uid ${uid}): network namespaces need root, or CAP_SYS_ADMIN and CAP_NET_ADMIN`,
    };
  }
  try {
    await runIp(['-V']);
  } catch (err) {
    if (err instanceof FourtupleError && err.code === 'FOURTUPLE_NO_IP') {
      return { ok: false, reason: 'the `ip` command (iproute2) is not installed' };
    }
  }
  const probe = probeName(newRunId());
  try {
    await runIp(['netns', 'add', probe]);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `creating a network namespace is not permitted here (${why})` };
  }
  await runIp(['netns', 'del', probe]).catch(() => {});
  return { ok: true };
}

/**
 * The error every command gives when `--hosts netns` (or `hosts up`) cannot have namespaces here:
 * FOURTUPLE_NO_NETNS, exit 1 (this machine or user lacks something; the input is well formed).
 */
export function netnsUnavailable(reason: string | undefined): FourtupleError {
  return new FourtupleError(
    'FOURTUPLE_NO_NETNS',
    `network namespaces are not available: ${reason ?? 'unknown reason'}`,
  );
}
