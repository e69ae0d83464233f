/** A prediction against what the kernel did: the one comparison that decides `matches`. */
import type { Prediction } from './spec.js';
import type { ExperimentResult, Observation } from './types.js';

/** Which of the predicted same-port and different-port groups the source ports bear out. */
export function checkPorts(
  pred: Prediction,
  sourcePorts: Record<string, number>,
): Partial<Observation> {
  const out: Partial<Observation> = {};
  const has = (ids: string[]): boolean => ids.every((id) => sourcePorts[id] !== undefined);
  if (pred.samePort) {
    out.samePort = pred.samePort.filter(
      (ids) => has(ids) && new Set(ids.map((id) => sourcePorts[id])).size === 1,
    );
  }
  if (pred.differentPort) {
    out.differentPort = pred.differentPort.filter(
      (ids) => has(ids) && new Set(ids.map((id) => sourcePorts[id])).size === ids.length,
    );
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([k, w]) => [k, canon(w)]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** True when what was observed is exactly what was predicted. */
export function matches(pred: Prediction, obs: Observation): boolean {
  return (
    pred.established === obs.established &&
    sameJson(pred.outcomes, obs.outcomes) &&
    sameJson(pred.samePort, obs.samePort) &&
    sameJson(pred.differentPort, obs.differentPort)
  );
}

/**
 * Whether the per-socket runs (IP_LOCAL_PORT_RANGE, names ending in `-sockopt`) saw what their
 * namespace-wide twins saw: the same outcome for every socket and as many connections. Pairs
 * where either side was skipped do not count; undefined when no pair ran.
 */
export function rangeAgreement(
  results: readonly ExperimentResult[],
): { agree: number; of: number; differ: string[] } | undefined {
  const byName = new Map(results.map((r) => [r.name, r]));
  let of = 0;
  const differ: string[] = [];
  for (const r of results) {
    const twin = byName.get(`${r.name}-sockopt`);
    if (!twin || r.skipped !== undefined || twin.skipped !== undefined) continue;
    of++;
    const same =
      r.established === twin.established && sameJson(r.observed.outcomes, twin.observed.outcomes);
    if (!same) differ.push(r.name);
  }
  return of ? { agree: of - differ.length, of, differ } : undefined;
}
