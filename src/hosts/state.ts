/**
 * The record each netns run keeps of itself (LAB_STATE_DIR/<runId>.json): its owner's pid and
 * start time, whether it is kept and complete, and its machines. `cleanupLabs` reads it to tell
 * a lab in use by a live process from one left by a crash (or by `fourtuple hosts up`).
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './lab.js';
import { isRunId } from './names.js';

/** Where each netns run records its owner (tmpfs: cleared at boot, like /run/netns). */
export const LAB_STATE_DIR = '/run/fourtuple/labs';

/** What a run records about itself in LAB_STATE_DIR/<runId>.json. */
export interface StateFile {
  runId: string;
  kind: 'netns';
  pid: number;
  /** the owner's start time (/proc/PID/stat field 22), so a reused pid is not mistaken for it */
  pidStart: string | null;
  keep: boolean;
  /** false until every step has succeeded */
  complete: boolean;
  createdAt: string;
  machines: Machine[];
}

export function stateFiles(): string[] {
  try {
    return readdirSync(LAB_STATE_DIR)
      .filter((f) => f.endsWith('.json') && isRunId(f.slice(0, -5)))
      .map((f) => f.slice(0, -5));
  } catch {
    return [];
  }
}

export function readState(runId: string): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(join(LAB_STATE_DIR, `${runId}.json`), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

export function writeState(s: StateFile): void {
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  writeFileSync(join(LAB_STATE_DIR, `${s.runId}.json`), `${JSON.stringify(s)}\n`);
}

export function removeState(runId: string): boolean {
  try {
    unlinkSync(join(LAB_STATE_DIR, `${runId}.json`));
    return true;
  } catch {
    return false;
  }
}

/** A process's start time in clock ticks since boot, or null when it does not exist. */
export function processStart(pid: number): string | null {
  try {
    return parseProcStatStart(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Field 22 (starttime) of /proc/PID/stat; the command name (field 2) may contain spaces. */
export function parseProcStatStart(stat: string): string | null {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? null;
}

export function ownerAlive(s: StateFile | undefined): boolean {
  if (!s) return false;
  const start = processStart(s.pid);
  return start !== null && (s.pidStart === null || start === s.pidStart);
}
