/** A description of this machine for the report: kernel, cores, memory, versions, date. */
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, freemem, platform, release, totalmem } from 'node:os';

/** The machine results came from. */
export interface MachineInfo {
  kernel?: string;
  cores?: number;
  /** MemTotal, bytes */
  memoryBytes?: number;
  /** MemAvailable when the results were taken, bytes */
  memoryAvailableBytes?: number;
  node?: string;
  fourtuple?: string;
  /** ISO 8601 */
  date?: string;
  platform?: string;
  arch?: string;
  /** true when this describes the machine that rendered the page, not the one that ran */
  renderedHere?: boolean;
}

function fourtupleVersion(): string | undefined {
  try {
    const url = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** This machine, now. `freemem` is MemAvailable on Linux. */
export function describeMachine(now: Date = new Date()): MachineInfo {
  const version = fourtupleVersion();
  return {
    kernel: release(),
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    memoryAvailableBytes: freemem(),
    node: process.version,
    ...(version ? { fourtuple: version } : {}),
    date: now.toISOString(),
    platform: platform(),
    arch: arch(),
  };
}
