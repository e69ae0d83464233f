/**
 * What exists of our labs, and its removal: the namespaces and stray root-namespace links named
 * like ours (`ft-<runid>-...`), the exit safety net that removes a process's own labs when it
 * exits, `destroyLab` for one run, and `listLabs`/`cleanupLabs` for every run on this host.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FourtupleError, InvalidOptionError } from '../errors.js';
import { runIp, runIpBatch, runIpBatchSync } from './ip.js';
import type { Machine } from './lab.js';
import { isRunId, NETNS_DIR, parseLinkNames, parseName, parseNetnsList } from './names.js';
import { describeOccupants, type Occupant, occupantsOf } from './occupants.js';
import { LAB_STATE_DIR, ownerAlive, readState, removeState, stateFiles } from './state.js';

/** One thing of ours found on the host: a namespace, a stray root-namespace link, a state file. */
export interface LeftoverItem {
  type: 'netns' | 'link' | 'state';
  name: string;
  runId: string;
}

export interface DestroyResult {
  runId: string;
  removed: LeftoverItem[];
  /** milliseconds spent removing */
  destroyMs: number;
}

// ---------------------------------------------------------------------------------------------
// What exists: namespaces, root-namespace links, state files.

/** Namespaces named like ours (`ft-<runid>-...`), from `ip netns list`. */
export async function ourNamespaces() {
  let out: string;
  try {
    out = (await runIp(['netns', 'list'])).stdout;
  } catch (err) {
    if (err instanceof FourtupleError && err.code === 'FOURTUPLE_NO_IP') return [];
    throw err;
  }
  return parseNetnsList(out).flatMap((n) => parseName(n) ?? []);
}

/**
 * Links in the root namespace named like ours. A lab never creates any (every device is born in
 * its own namespace), but cleanup looks anyway, in case some other version or a manual
 * experiment left one.
 */
async function ourRootLinks() {
  let out: string;
  try {
    out = (await runIp(['-o', 'link', 'show'])).stdout;
  } catch (err) {
    if (err instanceof FourtupleError && err.code === 'FOURTUPLE_NO_IP') return [];
    throw err;
  }
  return parseLinkNames(out).flatMap((n) => parseName(n) ?? []);
}

// ---------------------------------------------------------------------------------------------
// Exit safety net: labs not kept are removed when the process exits (process.exit included).

const exitTracked = new Set<string>();
let exitHookInstalled = false;

export function trackForExit(runId: string): void {
  exitTracked.add(runId);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    if (exitTracked.size === 0) return;
    let names: string[];
    try {
      names = parseNetnsList(readdirSync(NETNS_DIR).join('\n'));
    } catch {
      names = [];
    }
    const lines = names
      .filter((name) => exitTracked.has(parseName(name)?.runId ?? ''))
      .map((name) => `netns del ${name}`);
    if (lines.length > 0) runIpBatchSync(lines);
    for (const id of exitTracked) removeState(id);
  });
}

// ---------------------------------------------------------------------------------------------
// Removal.

export interface DestroyOptions {
  /**
   * refuse (FOURTUPLE_LAB_IN_USE, nothing removed) when a process is inside one of the lab's
   * namespaces, as `hosts down` does without --force (default false: remove it anyway)
   */
  ifUnused?: boolean;
}

/**
 * Removes every namespace, root-namespace link and state file of run `runId`, whoever owns it,
 * and checks that none remains. Resolves with what it removed (empty when there was nothing).
 */
export async function destroyLab(
  runId: string,
  options: DestroyOptions = {},
): Promise<DestroyResult> {
  if (!isRunId(runId)) throw new InvalidOptionError('runId', '6 characters [0-9a-z]', `"${runId}"`);
  const started = performance.now();
  if (options.ifUnused) {
    const names = (await ourNamespaces()).filter((n) => n.runId === runId).map((n) => n.name);
    const inside = occupantsOf(names);
    if (inside.length > 0) {
      throw new FourtupleError(
        'FOURTUPLE_LAB_IN_USE',
        `lab ${runId} is in use, left as it is: ${describeOccupants(inside)} (--force removes it anyway)`,
      );
    }
  }
  const removed = await removeRuns(new Set([runId]));
  exitTracked.delete(runId);
  return { runId, removed, destroyMs: Math.round(performance.now() - started) };
}

async function removeRuns(runIds: ReadonlySet<string>): Promise<LeftoverItem[]> {
  const mine = <T extends { runId: string }>(xs: T[]) => xs.filter((x) => runIds.has(x.runId));
  const links = mine(await ourRootLinks());
  // The bridges' namespaces first: removing them takes every veth (both ends) with them.
  const namespaces = mine(await ourNamespaces()).sort(
    (a, b) =>
      a.runId.localeCompare(b.runId) ||
      Number(b.role === 'bridge') - Number(a.role === 'bridge') ||
      byNumber(a.name, b.name),
  );
  const lines = [
    ...links.map((l) => `link del ${l.name}`),
    ...namespaces.map((p) => `netns del ${p.name}`),
  ];
  let failure: unknown;
  if (lines.length > 0) {
    try {
      await runIpBatch(lines, { force: true });
    } catch (err) {
      failure = err;
    }
  }
  const left = [...mine(await ourRootLinks()), ...mine(await ourNamespaces())];
  if (left.length > 0) {
    const why = failure instanceof Error ? `: ${failure.message}` : '';
    throw new FourtupleError(
      'FOURTUPLE_CLEANUP',
      `could not remove ${left.map((l) => l.name).join(', ')}${why}`,
      { cause: failure },
    );
  }
  const removed: LeftoverItem[] = [
    ...links.map((l) => ({ type: 'link' as const, name: l.name, runId: l.runId })),
    ...namespaces.map((p) => ({ type: 'netns' as const, name: p.name, runId: p.runId })),
  ];
  for (const id of [...runIds].sort()) {
    if (removeState(id))
      removed.push({ type: 'state', name: join(LAB_STATE_DIR, `${id}.json`), runId: id });
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Listing and cleanup.

/**
 * in-use: its creating process is alive. kept: complete, left on purpose by `fourtuple hosts up`.
 * leftover: its process is gone (a crash, a SIGKILL) or it has no record at all. Whatever its
 * status, `occupants` lists the processes inside its namespaces (a kept lab may have some).
 */
export type LabStatus = 'in-use' | 'kept' | 'leftover';

export interface LabSummary {
  runId: string;
  status: LabStatus;
  /** the machines as recorded at creation (empty when the record is missing) */
  machines: Machine[];
  /** every namespace of the run that exists, bridge included */
  namespaces: string[];
  /** stray links of the run in the root namespace (normally none) */
  links: string[];
  ownerPid: number | null;
  createdAt: string | null;
  /** processes inside its namespaces (`ip netns pids`), this one excluded */
  occupants: Occupant[];
}

/** Every lab of ours on this host, from any process, including crashed runs' remains. */
export async function listLabs(): Promise<LabSummary[]> {
  const namespaces = await ourNamespaces();
  const links = await ourRootLinks();
  const ids = new Set([
    ...namespaces.map((p) => p.runId),
    ...links.map((l) => l.runId),
    ...stateFiles(),
  ]);
  const occupants = occupantsOf(namespaces.map((n) => n.name));
  return [...ids].sort().map((runId) => {
    const s = readState(runId);
    const alive = ownerAlive(s);
    const names = namespaces
      .filter((p) => p.runId === runId)
      .map((p) => p.name)
      .sort(byNumber);
    return {
      runId,
      status: alive ? 'in-use' : s?.keep && s.complete ? 'kept' : 'leftover',
      machines: s?.machines ?? [],
      namespaces: names,
      occupants: occupants.filter((o) => names.includes(o.netns)),
      links: links.filter((l) => l.runId === runId).map((l) => l.name),
      ownerPid: s?.pid ?? null,
      createdAt: s?.createdAt ?? null,
    };
  });
}

/** Sorts m2 before m10. */
function byNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export interface CleanupOptions {
  /** also remove labs whose creating process is still running (default false) */
  includeInUse?: boolean;
  /** also remove labs with processes inside their namespaces (default false) */
  force?: boolean;
}

export interface CleanupResult {
  removed: LeftoverItem[];
  /** labs left alone because their creating process is still running */
  inUse: LabSummary[];
  /** labs left alone because processes are inside their namespaces (see `occupants`) */
  occupied: LabSummary[];
  cleanupMs: number;
}

/**
 * Removes every lab of ours that no running process owns and no process is inside: labs left by
 * `hosts up`, by a crash or a SIGKILL, and stray devices. Resolves with what it removed and what
 * it left alone.
 */
export async function cleanupLabs(options: CleanupOptions = {}): Promise<CleanupResult> {
  const started = performance.now();
  const labs = await listLabs();
  const inUse = options.includeInUse ? [] : labs.filter((l) => l.status === 'in-use');
  const occupied = options.force
    ? []
    : labs.filter((l) => !inUse.includes(l) && l.occupants.length > 0);
  const left = new Set([...inUse, ...occupied]);
  const targets = new Set(labs.filter((l) => !left.has(l)).map((l) => l.runId));
  const removed = targets.size > 0 ? await removeRuns(targets) : [];
  for (const id of targets) exitTracked.delete(id);
  return { removed, inUse, occupied, cleanupMs: Math.round(performance.now() - started) };
}
