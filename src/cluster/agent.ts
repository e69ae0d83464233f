/**
 * One agent of a cluster run: one of the seed's n machines (a pod of an Indexed Job). It takes its
 * shard of the plan, boots its `max` workers, registers at the barrier (agent 0 also runs it),
 * waits for the common start, ramps to its share of the targets, holds, verifies, and sends its
 * result back over the control connection. Agent 0 then merges every result it received.
 */
import { readOwnCgroupMemory } from '../limits/cgroup.js';
import { ephemeralPortRange } from '../limits/procfs.js';
import { RESULT_VERSION } from '../result.js';
import { runMax } from '../scale/coordinator.js';
import type { MaxResult, Progress } from '../scale/types.js';
import { getNofileLimit, setNofileSoftLimit } from '../sockets/rlimit.js';
import { type AgentLink, type Coordinator, joinBarrier, startCoordinator } from './barrier.js';
import { type AgentResult, type MergedResult, mergeAgents } from './merge.js';
import { type ClusterPlan, shardOf } from './shard.js';

export interface AgentOptions {
  plan: ClusterPlan;
  /** this agent's index, 0..agents-1 (JOB_COMPLETION_INDEX in a pod) */
  index: number;
  agents: number;
  /** where agent 0 listens and every agent registers */
  coordinator: { host: string; port: number };
  /** agent 0 only: the address its control server binds (default 0.0.0.0) */
  listenHost?: string;
  /** the pod and node names (the downward API in a pod), for the roster */
  pod?: string;
  node?: string;
  /** the address this agent's connections leave from, when known (the pod IP) */
  source?: string;
  /** how long the barrier waits for every index (agent 0), and each agent for its start */
  barrierTimeoutMs: number;
  /** how far ahead of the last registration the common start is (default 1000 ms) */
  leadMs?: number;
  /** agent 0: how long to wait for the other agents' results after its own (default 60 s) */
  resultTimeoutMs?: number;
  allowRemote?: boolean;
  signal?: AbortSignal;
}

export interface AgentRun {
  agent: AgentResult;
  /** agent 0 only: every result it received, merged */
  merged?: MergedResult;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Raises RLIMIT_NOFILE's soft limit to the hard one: a pod starts at the runtime's default. */
function raiseNofile(): number {
  const l = getNofileLimit();
  if (l.soft < l.hard) {
    try {
      return setNofileSoftLimit(l.hard).soft;
    } catch {
      return l.soft;
    }
  }
  return l.soft;
}

function parseTarget(t: string): { host: string; port: number } {
  const i = t.lastIndexOf(':');
  return { host: t.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(t.slice(i + 1)) };
}

function agentResult(
  o: AgentOptions,
  source: string,
  clock: { startAt: number; rampAt: number },
  r: MaxResult | undefined,
  error: string | undefined,
): AgentResult {
  const holdStart = r ? clock.rampAt + r.timing.rampMs : clock.rampAt;
  return {
    kind: 'agent',
    version: RESULT_VERSION,
    index: o.index,
    agents: o.agents,
    pod: o.pod ?? `agent-${o.index}`,
    node: o.node ?? '',
    source,
    startAt: clock.startAt,
    rampStart: clock.rampAt,
    holdStart,
    holdEnd: r ? holdStart + r.timing.holdMs : holdStart,
    established: r?.established ?? 0,
    alive: r?.alive ?? 0,
    dead: r?.dead ?? 0,
    unverified: r?.unverified ?? 0,
    failures: r?.failures ?? {},
    stoppedBy: r ? `${r.stoppedBy.reason}: ${r.stoppedBy.detail}` : error ? 'error' : 'target',
    reached:
      error === undefined &&
      (r ? r.stoppedBy.reason === 'target' && r.dead === 0 && r.unverified === 0 : true),
    ...(error !== undefined ? { error } : {}),
  };
}

/** Runs one agent; agent 0 also coordinates and returns the merged result. */
export async function runAgent(
  o: AgentOptions,
  onProgress: (p: Progress) => void = () => {},
): Promise<AgentRun> {
  const shard = shardOf(o.plan, o.index, o.agents);
  const nofile = raiseNofile();
  let coordinator: Coordinator | undefined;
  if (o.index === 0) {
    coordinator = await startCoordinator({
      host: o.listenHost ?? '0.0.0.0',
      port: o.coordinator.port,
      agents: o.agents,
      timeoutMs: o.barrierTimeoutMs,
      leadMs: o.leadMs ?? 1000,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
  let link: AgentLink | undefined;
  const clock = { startAt: 0, rampAt: 0 };
  const join = async (): Promise<void> => {
    const cg = readOwnCgroupMemory();
    link = await joinBarrier({
      host: o.index === 0 ? '127.0.0.1' : o.coordinator.host,
      port: o.index === 0 ? coordinator!.port : o.coordinator.port,
      timeoutMs: o.barrierTimeoutMs + 5000,
      registration: {
        index: o.index,
        pod: o.pod ?? `agent-${o.index}`,
        node: o.node ?? '',
        source: o.source ?? '',
        limits: {
          nofile,
          portRange: `${ephemeralPortRange().low}-${ephemeralPortRange().high}`,
          cgroupMemory: typeof cg?.limitBytes === 'number' ? cg.limitBytes : undefined,
        },
      },
      ...(o.signal ? { signal: o.signal } : {}),
    });
    clock.startAt = link.startAt;
    await sleep(link.startAt - Date.now(), o.signal);
    clock.rampAt = Date.now();
  };
  let result: MaxResult | undefined;
  let error: string | undefined;
  try {
    if (shard.connections === 0) await join();
    else {
      result = await runMax(
        {
          connections: shard.connections,
          targets: shard.targets.map(parseTarget),
          rate: shard.rate,
          holdMs: shard.holdMs,
          allowRemote: o.allowRemote ?? false,
          beforeRamp: join,
          ...(o.signal ? { signal: o.signal } : {}),
        },
        onProgress,
      );
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const source = o.source || link?.localAddress || '';
  const agent = agentResult(o, source, clock, result, error);
  await link?.sendResult(agent);
  if (!coordinator) {
    link?.close();
    return { agent };
  }
  try {
    // every registered agent's result, or its loss, or the timeout
    await Promise.race([coordinator.done, sleep(o.resultTimeoutMs ?? 60_000, o.signal)]);
  } catch {
    // interrupted: merge what came in
  }
  link?.close();
  const received = [...coordinator.results.values()].filter(
    (r): r is AgentResult => (r as AgentResult | null)?.kind === 'agent',
  );
  const barrier = await coordinator.barrier;
  await coordinator.close();
  // its own result too when it never reached the barrier (it could not send it then)
  const all = received.some((r) => r.index === o.index) ? received : [agent, ...received];
  // agents that registered but were sent away when the barrier timed out: failed, not missing
  if (barrier.startAt === undefined) {
    const why = `barrier timed out: index ${barrier.missing.join(', ')} missing`;
    for (const g of barrier.registered) {
      if (all.some((r) => r.index === g.index)) continue;
      all.push({
        ...agentResult(
          { ...o, index: g.index, pod: g.pod, node: g.node },
          g.source,
          clock,
          undefined,
          why,
        ),
      });
    }
  }
  return { agent, merged: mergeAgents(all, o.agents) };
}
