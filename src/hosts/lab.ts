import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidOptionError } from '../errors.js';
import { runIpBatch } from './ip.js';
import {
  bridgeName,
  type HostsKind,
  LAB_PREFIX_LENGTH,
  MACHINE_LIMITS,
  machineAddress,
  machineNetnsName,
  NETNS_DIR,
  newRunId,
} from './names.js';
import { processStart, type StateFile, stateFiles, writeState } from './state.js';
import { type DestroyResult, destroyLab, ourNamespaces, trackForExit } from './teardown.js';

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

/** How many per-namespace `ip` processes run at once while addressing machines. */
const PARALLEL = 8;

export async function createLab(options: CreateLabOptions): Promise<Lab> {
  const kind = options.kind ?? 'loopback';
  const { min, max } = MACHINE_LIMITS[kind];
  const n = options.machines;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidOptionError(
      'machines',
      `an integer from ${min} to ${max} for ${kind} labs`,
      String(n),
    );
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

export { cleanupLabs, destroyLab, listLabs } from './teardown.js';
