/** A prediction against what the kernel did: the one comparison that decides `matches`. */
import type { Prediction } from './spec.js';
import type { Observation } from './types.js';

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
