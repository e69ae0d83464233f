/**
 * Plays catalogue entries against the real kernel and records what happened, step by step,
 * errno by name. A prediction that the kernel contradicts is reported (matches: false), never
 * adjusted. Every socket is closed before the next experiment: connectors with an RST (no
 * TIME_WAIT to disturb the next run), listeners with an RST to every accepted connection. The
 * listener-restart experiments leave one TIME_WAIT each, on a fresh port chosen per run.
 */

import { UsageError } from '../errors.js';
import type { Lab } from '../hosts/lab.js';
import { tag } from '../result.js';
import { CATALOGUE, type Experiment, findExperiment, PORT_SPAN } from './catalogue.js';
import { fillCeiling } from './ceiling.js';
import { runRestartOnFreshPort } from './restart.js';
import { chooseBasePort, openLab } from './setup.js';
import { Run, type RunWorld } from './steps.js';
import { describeTopology } from './topology.js';
import type {
  DemoResult,
  DemoSummary,
  ExperimentResult,
  HostsMode,
  Observation,
  RunExperimentsOptions,
} from './types.js';
import { checkPorts, matches, rangeAgreement } from './verdict.js';
import { configureWorld, openWorld, type WorldHost, worldSkipReason } from './world.js';

/** The catalogue's address -> the lab machine that stands for it (multi-host experiments). */
function machinesOf(e: Experiment): Map<string, number> {
  const machineOfIp = new Map<string, number>();
  for (const s of e.sockets ?? []) {
    const ip = s.role === 'listener' ? s.at.ip : s.from?.ip;
    if (ip !== undefined && s.machine !== undefined) machineOfIp.set(ip, s.machine);
  }
  return machineOfIp;
}

interface RunOneOptions {
  lab?: Lab;
  world?: WorldHost;
  signal?: AbortSignal;
  avoid: Set<number>;
}

/** Plays the sockets (and the ceiling, the observation) of one experiment; the TIME_WAIT port. */
async function play(run: Run, e: Experiment, options: RunOneOptions): Promise<number | undefined> {
  if (e.restart) return runRestartOnFreshPort(run, options.avoid);
  if (run.world) {
    const set = configureWorld(run.world.netnsPath, run.world.spec);
    run.step(set);
    if (set.result !== 'ok') {
      throw new WorldNotSet(`could not set the namespace's sysctls (${set.detail ?? set.result})`);
    }
  }
  const tags = new Set((e.sockets ?? []).filter((s) => s.role === 'listener').map((s) => s.id));
  for (const s of e.sockets ?? []) {
    options.signal?.throwIfAborted();
    if (s.role === 'listener') await run.listener(s);
    else await run.connector(s, tags);
  }
  if (e.ceiling && e.world) await fillCeiling(run, e.ceiling, e.world.ports + 2);
  if (e.observeAccepted) await run.observeAccepted();
  return undefined;
}

/** The world's sysctls could not be set: the experiment is skipped, with the reason. */
class WorldNotSet extends Error {}

/** A world experiment that cannot run here: listed with the reason, never run, never failed. */
function skippedResult(e: Experiment, reason: string): ExperimentResult {
  return {
    name: e.name,
    ...(e.of ? { of: e.of } : {}),
    summary: e.summary,
    hosts: 'netns',
    family: e.family,
    variant: e.variant,
    topology: describeTopology(e),
    predicted: e.prediction,
    predictionText: e.predictionText,
    steps: [],
    observed: { established: 0, outcomes: {}, sourcePorts: {} },
    established: 0,
    matches: false,
    skipped: reason,
    explanation: e.explanation,
    ports: [],
    durationMs: 0,
  };
}

/** Plays one experiment; every socket it opened is closed before this resolves. */
async function runOne(
  e: Experiment,
  base: number,
  options: RunOneOptions,
): Promise<ExperimentResult> {
  const skip = worldSkipReason(e, options.world);
  if (skip !== undefined) return skippedResult(e, skip);
  const started = performance.now();
  const useLab = e.multiHost && options.lab ? options.lab : undefined;
  const world: RunWorld | undefined =
    e.world && options.world && 'lab' in options.world
      ? { netnsPath: options.world.netnsPath, spec: e.world }
      : undefined;
  const run = new Run(e, base, options.signal, useLab, machinesOf(e), world);
  let timeWaitPort: number | undefined;
  try {
    timeWaitPort = await play(run, e, options);
  } catch (err) {
    if (!(err instanceof WorldNotSet)) throw err;
    return skippedResult(e, err.message);
  } finally {
    await run.cleanup();
  }
  const observed: Observation = {
    established: run.established,
    outcomes: run.outcomes,
    sourcePorts: run.sourcePorts,
    ...checkPorts(e.prediction, run.sourcePorts),
  };
  let topology = describeTopology(e, base, (ip) => run.ip(ip));
  if (timeWaitPort !== undefined)
    topology = topology.map((t) => t.replaceAll(':T', `:${timeWaitPort}`));
  return {
    name: e.name,
    ...(e.of ? { of: e.of } : {}),
    summary: e.summary,
    hosts: useLab || world ? 'netns' : 'loopback',
    family: e.family,
    variant: e.variant,
    topology,
    predicted: e.prediction,
    predictionText: e.predictionText,
    steps: run.steps,
    observed,
    established: run.established,
    matches: matches(e.prediction, observed),
    explanation: e.explanation,
    ports: [...run.ports].sort((x, y) => x - y),
    ...(timeWaitPort !== undefined ? { timeWaitPort } : {}),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Checks names against the catalogue (an experiment's name, or a family's: every experiment
 * whose `of` it is); an unknown name is a UsageError listing the valid ones.
 */
export function selectExperiments(names?: readonly string[]): Experiment[] {
  if (!names || names.length === 0) return [...CATALOGUE];
  const members = (n: string): Experiment[] => {
    const e = findExperiment(n);
    if (e) return [e];
    return CATALOGUE.filter((x) => x.of === n);
  };
  const unknown = names.filter((n) => members(n).length === 0);
  if (unknown.length) {
    throw new UsageError(
      `unknown experiment${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (experiments: ${CATALOGUE.map((e) => e.name).join(', ')})`,
    );
  }
  return [...new Set(names.flatMap(members))];
}

/** The run in numbers: how many matched, which differed, the ports and the lab it used. */
function summarize(
  results: ExperimentResult[],
  basePort: number,
  hosts: HostsMode,
  lab: Lab | undefined,
  world: WorldHost | undefined,
  started: number,
): DemoSummary {
  const skipped = results.filter((r) => r.skipped !== undefined).map((r) => r.name);
  const agreement = rangeAgreement(results);
  const differed = results.filter((r) => !r.matches && r.skipped === undefined).map((r) => r.name);
  return {
    experiments: results.length,
    matched: results.length - differed.length - skipped.length,
    differed,
    skipped,
    basePort,
    hosts,
    timeWaitPorts: results.flatMap((r) => (r.timeWaitPort !== undefined ? [r.timeWaitPort] : [])),
    ...(lab
      ? {
          lab: {
            runId: lab.runId,
            machines: lab.machines.map((m) => ({ name: m.name, address: m.address })),
          },
        }
      : {}),
    ...(agreement ? { rangeAgreement: agreement } : {}),
    ...(world && 'lab' in world
      ? { world: { runId: world.lab.runId, netns: world.lab.machines[0]!.netns! } }
      : {}),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Runs the chosen experiments (default: all) one after another against the kernel and returns
 * what each predicted and what happened.
 */
export async function runExperiments(options: RunExperimentsOptions = {}): Promise<DemoResult> {
  const started = performance.now();
  const chosen = options.experiments ? [...options.experiments] : selectExperiments(options.names);
  const hosts = options.hosts ?? 'loopback';
  const { signal } = options;
  const base = chooseBasePort(options.basePort);
  const avoid = new Set(Array.from({ length: PORT_SPAN + 1 }, (_, k) => base + k));
  const lab = await openLab(hosts, chosen, base + PORT_SPAN, signal);
  let world: WorldHost | undefined;
  const results: ExperimentResult[] = [];
  try {
    world = await openWorld(chosen, signal);
    for (const e of chosen) {
      signal?.throwIfAborted();
      const r = await runOne(e, base, {
        ...(lab ? { lab } : {}),
        ...(world ? { world } : {}),
        ...(signal ? { signal } : {}),
        avoid,
      });
      results.push(r);
      options.onExperiment?.(r);
    }
  } finally {
    if (world && 'lab' in world) await world.lab.destroy();
    await lab?.destroy();
  }
  return {
    ...tag('demo'),
    experiments: results,
    summary: summarize(results, base, hosts, lab, world, started),
  };
}
