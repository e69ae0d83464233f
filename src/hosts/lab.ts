/**
 * A lab: n "machines" that fourtuple's sockets can live on.
 *
 * - `loopback`: machine k is the address 127.0.0.(k+1) on this host's one network stack. Nothing
 *   is created and nothing needs removing.
 * - `netns`: machine k is a network namespace `ft-<runid>-mk` with its own stack: `lo` up and one
 *   veth, `eth0`, with 198.18.0.(k+1)/16. The other end of every veth is a port of the bridge
 *   `ft-<runid>-br`, which lives in a namespace of its own (also `ft-<runid>-br`). Every device is
 *   created directly inside its namespace (`ip link add ... netns NS`), so the root namespace's
 *   links, addresses and routes are never touched, not even for a moment.
 *
 * How code runs "inside" a machine (decision): sockets are to be created on the main thread by
 * setns(2) into the machine's namespace (open `machine.netnsPath`), socket(2), then setns back.
 * A socket belongs to the namespace it was created in for its whole life, and libuv's epoll
 * does not care which namespace an fd came from, so one process can hold every machine's
 * sockets on one event loop: no worker per machine, no IPC, and the proof counts everything in
 * one place. That lives in src/sockets (it owns libc): `withNetns(machine.netnsPath, fn)`. For
 * other programs (ping, socat, a shell), `execIn` runs them inside a machine with `ip netns exec`.
 *
 * Teardown: creation is all-or-nothing (a failure or an abort removes everything of the run
 * before the error propagates); a lab not created with `keep` is also removed when the process
 * exits; and every run records its owner in LAB_STATE_DIR, so `cleanupLabs` can tell a lab in use
 * by a live process from one left by a crash (or by `fourtuple hosts up`) and remove the latter.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FourtupleError } from '../errors.js';
import { runIp, runIpBatch, runIpBatchSync } from './ip.js';
import {
  bridgeName,
  type HostsKind,
  isRunId,
  LAB_PREFIX_LENGTH,
  MACHINE_LIMITS,
  machineAddress,
  machineNetnsName,
  newRunId,
  parseLinkNames,
  parseName,
  parseNetnsList,
} from './names.js';

/** Where ip(8) keeps named network namespaces. */
export const NETNS_DIR = '/run/netns';
/** Where each netns run records its owner (tmpfs: cleared at boot, like /run/netns). */
export const LAB_STATE_DIR = '/run/fourtuple/labs';

export interface Machine {
  /** 0-based */
  index: number;
  /** m0, m1, ... */
  name: string;
  /** the machine's one IPv4 address */
  address: string;
  /** netns only: the namespace's name, for `ip netns exec NAME ...` */
  netns?: string;
  /** netns only: /run/netns/NAME, for setns(2) */
  netnsPath?: string;
}

export interface LabInfo {
  runId: string;
  kind: HostsKind;
  machines: Machine[];
  /** netns only: the machines' subnet, e.g. 198.18.0.0/16 */
  subnet?: string;
  /** netns only: the bridge and the namespace it lives in (same name) */
  bridge?: { name: string; netns: string; netnsPath: string };
  createdAt: string;
  /** milliseconds spent creating the lab */
  createMs: number;
  /** the process that created the lab */
  ownerPid: number;
  /** true when the lab outlives its process (`fourtuple hosts up`) */
  keep: boolean;
}

export interface Lab extends LabInfo {
  /** Removes everything the lab created. Idempotent. */
  destroy(): Promise<DestroyResult>;
}

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

export type LabProgressStep = 'namespaces' | 'bridge' | 'addresses' | 'ready';

export interface LabProgress {
  runId: string;
  step: LabProgressStep;
  machines: number;
}

export interface CreateLabOptions {
  /** default 'loopback' */
  kind?: HostsKind;
  machines: number;
  /** aborting removes whatever was created so far, then rejects with the abort reason */
  signal?: AbortSignal;
  /** leave the lab when this process exits (for `hosts up`); default false */
  keep?: boolean;
  /** called after each creation step (the CLI draws progress; tests abort midway) */
  onProgress?: (p: LabProgress) => void;
  /** testing aid: pause this long after each step, so an interruption lands midway */
  stepDelayMs?: number;
}

interface StateFile {
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

/** How many per-namespace `ip` processes run at once while addressing machines. */
const PARALLEL = 8;

export async function createLab(options: CreateLabOptions): Promise<Lab> {
  const kind = options.kind ?? 'loopback';
  const { min, max } = MACHINE_LIMITS[kind];
  const n = options.machines;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${kind} labs have ${min} to ${max} machines (got ${n})`);
  }
  options.signal?.throwIfAborted();
  return kind === 'loopback' ? loopbackLab(n) : netnsLab(n, options);
}

function loopbackLab(n: number): Lab {
  const machines = Array.from({ length: n }, (_, k) => ({
    index: k,
    name: `m${k}`,
    address: machineAddress('loopback', k),
  }));
  const runId = newRunId();
  return {
    runId,
    kind: 'loopback',
    machines,
    createdAt: new Date().toISOString(),
    createMs: 0,
    ownerPid: process.pid,
    keep: false,
    destroy: async () => ({ runId, removed: [], destroyMs: 0 }),
  };
}

/** The machines of a netns lab, before anything exists (pure). */
export function planNetnsMachines(runId: string, n: number): Machine[] {
  return Array.from({ length: n }, (_, k) => {
    const netns = machineNetnsName(runId, k);
    return {
      index: k,
      name: `m${k}`,
      address: machineAddress('netns', k),
      netns,
      netnsPath: `${NETNS_DIR}/${netns}`,
    };
  });
}

/**
 * The `ip` batches that build a netns lab (pure): one root batch that creates every namespace
 * and every veth pair (each end created directly in its namespace), one for the bridge's
 * namespace, and one per machine.
 */
export function netnsLabBatches(
  runId: string,
  machines: readonly Machine[],
): { root: string[]; bridge: string[]; machines: string[][] } {
  const br = bridgeName(runId);
  const root = [`netns add ${br}`, ...machines.map((m) => `netns add ${m.netns}`)];
  for (const m of machines) {
    root.push(`link add ${m.netns} netns ${br} type veth peer name eth0 netns ${m.netns}`);
  }
  const bridge = [
    'link set lo up',
    `link add ${br} type bridge`,
    `link set ${br} up`,
    ...machines.flatMap((m) => [`link set ${m.netns} master ${br}`, `link set ${m.netns} up`]),
  ];
  const perMachine = machines.map((m) => [
    'link set lo up',
    `addr add ${m.address}/${LAB_PREFIX_LENGTH} dev eth0`,
    'link set eth0 up',
  ]);
  return { root, bridge, machines: perMachine };
}

async function netnsLab(n: number, options: CreateLabOptions): Promise<Lab> {
  const started = performance.now();
  const runId = await freshRunId();
  const machines = planNetnsMachines(runId, n);
  const keep = options.keep ?? false;
  const createdAt = new Date().toISOString();
  const signal = options.signal;
  const progress = async (step: LabProgressStep): Promise<void> => {
    options.onProgress?.({ runId, step, machines: n });
    signal?.throwIfAborted();
    if (options.stepDelayMs && step !== 'ready') {
      await sleep(options.stepDelayMs, undefined, signal ? { signal } : {});
    }
  };

  // The owner is on record before anything exists: a concurrent `cleanup` then sees a live
  // owner and leaves this run alone, and a crash at any point leaves a findable record.
  const state: StateFile = {
    runId,
    kind: 'netns',
    pid: process.pid,
    pidStart: processStart(process.pid),
    keep,
    complete: false,
    createdAt,
    machines,
  };
  writeState(state);
  if (!keep) trackForExit(runId);
  try {
    const batches = netnsLabBatches(runId, machines);
    await runIpBatch(batches.root);
    await progress('namespaces');
    await runIpBatch(batches.bridge, { netns: bridgeName(runId) });
    await progress('bridge');
    await eachLimited(machines, PARALLEL, (m, k) =>
      runIpBatch(batches.machines[k]!, { netns: m.netns! }),
    );
    await progress('addresses');
    writeState({ ...state, complete: true });
    await progress('ready');
  } catch (err) {
    try {
      await destroyLab(runId);
    } catch (cleanupErr) {
      throw new AggregateError(
        [err, cleanupErr],
        `creating lab ${runId} failed and so did removing it: ${String(cleanupErr)}`,
      );
    }
    throw err;
  }

  const br = bridgeName(runId);
  return {
    runId,
    kind: 'netns',
    machines,
    subnet: `198.18.0.0/${LAB_PREFIX_LENGTH}`,
    bridge: { name: br, netns: br, netnsPath: `${NETNS_DIR}/${br}` },
    createdAt,
    createMs: Math.round(performance.now() - started),
    ownerPid: process.pid,
    keep,
    destroy: () => destroyLab(runId),
  };
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first failure. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const k = next++;
      try {
        await fn(items[k]!, k);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

async function freshRunId(): Promise<string> {
  const taken = new Set((await ourNamespaces()).map((p) => p.runId));
  for (const f of stateFiles()) taken.add(f);
  for (;;) {
    const id = newRunId();
    if (!taken.has(id)) return id;
  }
}

// ---------------------------------------------------------------------------------------------
// What exists: namespaces, root-namespace links, state files.

/** Namespaces named like ours (`ft-<runid>-...`), from `ip netns list`. */
async function ourNamespaces() {
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

function stateFiles(): string[] {
  try {
    return readdirSync(LAB_STATE_DIR)
      .filter((f) => f.endsWith('.json') && isRunId(f.slice(0, -5)))
      .map((f) => f.slice(0, -5));
  } catch {
    return [];
  }
}

function readState(runId: string): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(join(LAB_STATE_DIR, `${runId}.json`), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

function writeState(s: StateFile): void {
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  writeFileSync(join(LAB_STATE_DIR, `${s.runId}.json`), `${JSON.stringify(s)}\n`);
}

function removeState(runId: string): boolean {
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

function ownerAlive(s: StateFile | undefined): boolean {
  if (!s) return false;
  const start = processStart(s.pid);
  return start !== null && (s.pidStart === null || start === s.pidStart);
}

// ---------------------------------------------------------------------------------------------
// Exit safety net: labs not kept are removed when the process exits (process.exit included).

const exitTracked = new Set<string>();
let exitHookInstalled = false;

function trackForExit(runId: string): void {
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

/**
 * Removes every namespace, root-namespace link and state file of run `runId`, whoever owns it,
 * and checks that none remains. Resolves with what it removed (empty when there was nothing).
 */
export async function destroyLab(runId: string): Promise<DestroyResult> {
  if (!isRunId(runId)) throw new RangeError(`a run id is 6 characters [0-9a-z] (got "${runId}")`);
  const started = performance.now();
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
 * leftover: its process is gone (a crash, a SIGKILL) or it has no record at all.
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
  return [...ids].sort().map((runId) => {
    const s = readState(runId);
    const alive = ownerAlive(s);
    return {
      runId,
      status: alive ? 'in-use' : s?.keep && s.complete ? 'kept' : 'leftover',
      machines: s?.machines ?? [],
      namespaces: namespaces
        .filter((p) => p.runId === runId)
        .map((p) => p.name)
        .sort(byNumber),
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
}

export interface CleanupResult {
  removed: LeftoverItem[];
  /** labs left alone because their creating process is still running */
  inUse: LabSummary[];
  cleanupMs: number;
}

/**
 * Removes every lab of ours that no running process owns: labs left by `hosts up`, by a crash
 * or a SIGKILL, and stray devices. Resolves with what it removed.
 */
export async function cleanupLabs(options: CleanupOptions = {}): Promise<CleanupResult> {
  const started = performance.now();
  const labs = await listLabs();
  const inUse = options.includeInUse ? [] : labs.filter((l) => l.status === 'in-use');
  const targets = new Set(labs.filter((l) => !inUse.includes(l)).map((l) => l.runId));
  const removed = targets.size > 0 ? await removeRuns(targets) : [];
  for (const id of targets) exitTracked.delete(id);
  return { removed, inUse, cleanupMs: Math.round(performance.now() - started) };
}
