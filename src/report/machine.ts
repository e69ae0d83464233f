/** A description of this machine for the report: kernel, cores, memory, versions, date. */
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, freemem, platform, release, totalmem } from 'node:os';
import type { MachineInfo } from './types.js';

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
