/**
 * A cluster run's plan and each agent's share of it. An agent is one of the seed's n machines (a
 * pod of a Kubernetes Indexed Job); its shard is a pure function of (plan, index, agents), so every
 * agent computes its own without asking anyone, and any reader can recompute them all.
 */
import { InvalidOptionError } from '../errors.js';

/** What the whole cluster does together. */
export interface ClusterPlan {
  /** destinations as HOST:PORT, each reached by every agent */
  targets: string[];
  /** connections held at once across all agents */
  connections: number;
  /** new connections per second across all agents (0: as fast as each agent can) */
  rate: number;
  /** how long every connection is held once all are open, in ms */
  holdMs: number;
}

/** One agent's part of the plan. */
export interface Shard {
  index: number;
  agents: number;
  connections: number;
  rate: number;
  holdMs: number;
  /** the plan's targets rotated by the index, so agents start on different destinations */
  targets: string[];
}

/** Bounds the agent count: a Job's completions are capped at 100,000 for Indexed Jobs. */
export const AGENTS_RANGE = { min: 1, max: 100_000 } as const;

/** `total` split over `parts`: even, with the remainder to the lowest indexes. */
export function evenShare(total: number, parts: number, index: number): number {
  const base = Math.floor(total / parts);
  return base + (index < total % parts ? 1 : 0);
}

/** The shard of agent `index` (0-based) among `agents`. */
export function shardOf(plan: ClusterPlan, index: number, agents: number): Shard {
  if (!Number.isInteger(agents) || agents < AGENTS_RANGE.min || agents > AGENTS_RANGE.max) {
    throw new InvalidOptionError(
      'agents',
      `an integer from ${AGENTS_RANGE.min} to ${AGENTS_RANGE.max}`,
      String(agents),
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= agents) {
    throw new InvalidOptionError('index', `an integer from 0 to ${agents - 1}`, String(index));
  }
  if (plan.targets.length === 0) throw new InvalidOptionError('targets', 'at least one HOST:PORT');
  const k = index % plan.targets.length;
  return {
    index,
    agents,
    connections: evenShare(plan.connections, agents, index),
    rate: evenShare(plan.rate, agents, index),
    holdMs: plan.holdMs,
    targets: [...plan.targets.slice(k), ...plan.targets.slice(0, k)],
  };
}

/** Every agent's shard, index 0 first. */
export function shardAll(plan: ClusterPlan, agents: number): Shard[] {
  return Array.from({ length: agents }, (_, i) => shardOf(plan, i, agents));
}
