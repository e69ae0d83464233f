/**
 * Merging what the agents of a cluster run report. Each agent prints its own result as its last
 * stdout line, so a merge needs nothing but those lines (from `kubectl logs -l job-name=NAME
 * --prefix --tail=1`, prefixes tolerated): a dead coordinator loses nothing.
 *
 * Connections are only summed over a window every counted agent held at once: the common hold
 * window is the latest hold start to the earliest hold end; an agent whose hold does not overlap
 * it is not summed, and the result says so.
 */
import { FourtupleError } from '../errors.js';
import { RESULT_VERSION } from '../result.js';

/** One agent's result (the last line an agent prints). */
export interface AgentResult {
  kind: 'agent';
  version: number;
  index: number;
  agents: number;
  pod: string;
  node: string;
  /** the source address its connections left from */
  source: string;
  /** epoch ms: the barrier's common start, when this agent began connecting, its hold window */
  startAt: number;
  /** when this agent's first connect went out (it waited for startAt); absent in older lines */
  rampStart?: number;
  holdStart: number;
  holdEnd: number;
  established: number;
  alive: number;
  dead: number;
  /** held, but not checked in time: neither alive nor dead (no evidence either way) */
  unverified: number;
  /** failed connection attempts by errno name */
  failures: Record<string, number>;
  stoppedBy: string;
  /** the agent reached its share of the plan (its run stopped at its target) */
  reached: boolean;
  /** the agent ended with an error of its own (its message), not just a wall */
  error?: string;
}

export interface MergeRoster {
  expected: number;
  present: number[];
  missing: number[];
  /** indexes that reported an error */
  failed: number[];
  /** indexes reported more than once (two pods for one index), each named once */
  duplicate: number[];
}

export interface MergedResult {
  kind: 'merge';
  version: number;
  roster: MergeRoster;
  totals: {
    established: number;
    alive: number;
    dead: number;
    unverified: number;
    failures: Record<string, number>;
  };
  /** the hold window every summed agent shared, epoch ms; undefined when none overlaps */
  window: { start: number; end: number } | undefined;
  /** connections alive during the common window (summed over the agents that held it) */
  aliveInWindow: number;
  /** indexes whose hold did not overlap the common window (not summed) */
  outsideWindow: number[];
  /** latest minus earliest first connect, ms: how far from simultaneous the start was */
  startSkewMs: number;
  agents: AgentResult[];
  verdict: 'complete' | 'partial';
}

function isAgentResult(v: unknown): v is AgentResult {
  const o = v as Partial<AgentResult> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    o.kind === 'agent' &&
    Number.isInteger(o.index) &&
    Number.isInteger(o.agents) &&
    typeof o.holdStart === 'number' &&
    typeof o.holdEnd === 'number' &&
    typeof o.alive === 'number'
  );
}

/**
 * The agent results in `text`: one per line, each possibly behind a prefix such as kubectl's
 * `[pod/ft-run-0-abcde/agent] `; other lines (progress, logs) are skipped.
 */
export function parseAgentLines(text: string): AgentResult[] {
  const out: AgentResult[] = [];
  for (const line of text.split('\n')) {
    const brace = line.indexOf('{');
    if (brace < 0) continue;
    try {
      const v: unknown = JSON.parse(line.slice(brace));
      if (isAgentResult(v)) out.push(v);
    } catch {
      // not a result line
    }
  }
  return out;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/**
 * The window the most agents held at once (the longest such, on a tie): a sweep over the hold
 * starts and ends. Every agent counted for it held its connections through all of it.
 */
export function commonWindow(
  holds: readonly { holdStart: number; holdEnd: number }[],
): { start: number; end: number } | undefined {
  const points = [...new Set(holds.flatMap((h) => [h.holdStart, h.holdEnd]))].sort((a, b) => a - b);
  let best: { start: number; end: number; count: number } | undefined;
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i]!;
    const end = points[i + 1]!;
    const count = holds.filter((h) => h.holdStart <= start && h.holdEnd >= end).length;
    if (count === 0) continue;
    if (
      !best ||
      count > best.count ||
      (count === best.count && end - start > best.end - best.start)
    ) {
      best = { start, end, count };
    }
  }
  if (!best) return undefined;
  // widen to the whole span those same agents shared (adjacent pieces with the same holders)
  const holders = holds.filter((h) => h.holdStart <= best.start && h.holdEnd >= best.end);
  return {
    start: Math.max(...holders.map((h) => h.holdStart)),
    end: Math.min(...holders.map((h) => h.holdEnd)),
  };
}

/** Merges agent results; `expected` defaults to the agent count the results carry. */
export function mergeAgents(results: AgentResult[], expected?: number): MergedResult {
  const n = expected ?? Math.max(0, ...results.map((r) => r.agents));
  if (n === 0) {
    throw new FourtupleError('FOURTUPLE_RESULT_UNKNOWN', 'no agent result to merge');
  }
  const byIndex = new Map<number, AgentResult>();
  const duplicate = new Set<number>();
  for (const r of results) {
    if (byIndex.has(r.index)) duplicate.add(r.index);
    else byIndex.set(r.index, r);
  }
  const agents = [...byIndex.values()].sort((a, b) => a.index - b.index);
  const present = agents.map((a) => a.index);
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  const failed = agents.filter((a) => a.error !== undefined).map((a) => a.index);
  const healthy = agents.filter((a) => a.error === undefined && a.holdEnd > a.holdStart);
  const window = commonWindow(healthy);
  const inWindow = window
    ? healthy.filter((a) => a.holdStart <= window.start && a.holdEnd >= window.end)
    : [];
  const totals = {
    established: 0,
    alive: 0,
    dead: 0,
    unverified: 0,
    failures: {} as Record<string, number>,
  };
  for (const a of agents) {
    totals.established += a.established;
    totals.alive += a.alive;
    totals.dead += a.dead;
    totals.unverified += a.unverified ?? 0;
    addCounts(totals.failures, a.failures);
  }
  // how far from simultaneous the agents began connecting (the barrier's precision); the hold
  // starts also differ by each agent's own ramp time, which the window accounts for
  const starts = agents.filter((a) => a.error === undefined).map((a) => a.rampStart ?? a.holdStart);
  const complete =
    missing.length === 0 &&
    failed.length === 0 &&
    duplicate.size === 0 &&
    inWindow.length === agents.length;
  return {
    kind: 'merge',
    version: RESULT_VERSION,
    roster: {
      expected: n,
      present,
      missing,
      failed,
      duplicate: [...duplicate].sort((a, b) => a - b),
    },
    totals,
    window,
    aliveInWindow: inWindow.reduce((s, a) => s + a.alive, 0),
    outsideWindow: agents.filter((a) => !inWindow.includes(a)).map((a) => a.index),
    startSkewMs: starts.length ? Math.max(...starts) - Math.min(...starts) : 0,
    agents,
    verdict: complete ? 'complete' : 'partial',
  };
}
