/** `fourtuple agent`: one pod of a cluster run (an Indexed Job); agent 0 also coordinates. */
import { hostname } from 'node:os';
import { type AgentRun, runAgent } from '../cluster/agent.js';
import { CONTROL_PORT } from '../cluster/k8s.js';
import type { ClusterPlan } from '../cluster/shard.js';
import { AGENTS_RANGE } from '../cluster/shard.js';
import { UsageError } from '../errors.js';
import { parseTargetHostPort } from './_args.js';
import { CLUSTER_OPTIONS } from './_cluster.js';
import { defineCommand } from './_command.js';
import { groupDigits, toJson } from './_output.js';
import { ALLOW_REMOTE_OPTION, resolveTargetFlag } from './_targets.js';

/** An integer from the environment (a pod's JOB_COMPLETION_INDEX), checked like its flag. */
function envInt(env: NodeJS.ProcessEnv, name: string, flag: string, min: number, max: number) {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(
      `--${flag} (from ${name}) must be an integer from ${min} to ${max} (got "${text}")`,
      flag,
    );
  }
  return Number(text);
}

/**
 * The coordinator's address: --coordinator, FOURTUPLE_COORDINATOR, or what an Indexed Job with a
 * headless Service of the Job's name gives pod 0: `<job>-0.<job>` (a pod's hostname is
 * `<job>-<index>`).
 */
function coordinatorOf(
  text: string | undefined,
  env: NodeJS.ProcessEnv,
): { host: string; port: number } {
  const given = text ?? env.FOURTUPLE_COORDINATOR;
  if (given) {
    const t = parseTargetHostPort('coordinator', given);
    return { host: t.host, port: t.port };
  }
  const job = (env.HOSTNAME ?? hostname()).replace(/-\d+$/, '');
  return { host: `${job}-0.${job}`, port: CONTROL_PORT };
}

export function formatAgentRun(r: AgentRun): string {
  const a = r.agent;
  const lines = [
    `agent ${a.index} of ${a.agents} (${a.pod}${a.node ? ` on ${a.node}` : ''}, from ${a.source || '?'}): ` +
      `${groupDigits(a.established)} established, ${groupDigits(a.alive)} alive, ${groupDigits(a.dead)} dead; ${a.error ? `error: ${a.error}` : a.stoppedBy}`,
  ];
  const m = r.merged;
  if (m) {
    lines.push(
      `merged: ${m.verdict}; ${m.roster.present.length} of ${m.roster.expected} agents` +
        `${m.roster.missing.length ? `, missing ${m.roster.missing.join(', ')}` : ''}` +
        `${m.roster.duplicate.length ? `, duplicate ${m.roster.duplicate.join(', ')}` : ''}; ` +
        `${groupDigits(m.aliveInWindow)} alive together; start skew ${m.startSkewMs} ms`,
    );
  }
  return lines.join('\n');
}

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'one machine of a cluster run (a pod of a Kubernetes Indexed Job); agent 0 coordinates',
  description: `Runs one agent of a cluster run: its shard of the plan (connections and rate split evenly over
the agents, the remainder to the lowest indexes, targets rotated by index) with the max engine in
target mode. Agent 0 also coordinates: every agent registers with it (index, pod, node, source
address, limits); once every index is in, one absolute start time goes to all at once, and each
agent keeps its control connection open as its liveness signal. A barrier that times out names
the missing indexes and exits 1; a second pod for an index already registered is refused.

Its index comes from JOB_COMPLETION_INDEX (set by Kubernetes), the agent count from --agents or
FOURTUPLE_AGENTS, pod/node/source from FOURTUPLE_POD_NAME, FOURTUPLE_NODE_NAME, FOURTUPLE_POD_IP.
Every agent prints its result as its last stdout line (JSON); agent 0 prints the merged result
after it. \`fourtuple merge\` merges agents' lines when agent 0 is gone.`,
  epilog: `Exit codes: 0 the agent (and, for agent 0, the whole roster) completed; 1 an agent failed, was
missing or lost; 2 bad input.

Example (what \`fourtuple k8s job\` puts in each pod):
  fourtuple agent --agents 8 --target 198.18.0.2:6379 --connections 7200 --rate 1000 --hold 30s --allow-remote`,
  options: {
    ...CLUSTER_OPTIONS,
    index: {
      type: 'int',
      min: 0,
      max: AGENTS_RANGE.max - 1,
      field: false,
      defaultText: 'JOB_COMPLETION_INDEX',
      description: "this agent's index, 0 to agents-1",
    },
    agents: {
      type: 'int',
      min: AGENTS_RANGE.min,
      max: AGENTS_RANGE.max,
      defaultText: 'FOURTUPLE_AGENTS',
      description: 'how many agents (pods) the run has',
    },
    connections: {
      type: 'int',
      min: 0,
      max: 1_000_000_000,
      required: true,
      description: 'connections held at once over all agents',
    },
    rate: {
      type: 'int',
      min: 0,
      max: 1_000_000_000,
      default: 0,
      defaultText: '0 (unlimited; required with a remote target)',
      description: 'connects per second over all agents',
    },
    coordinator: {
      type: 'string',
      placeholder: 'HOST:PORT',
      field: false,
      defaultText: `FOURTUPLE_COORDINATOR, else <job>-0.<job>:${CONTROL_PORT}`,
      description: "agent 0's control address",
    },
    listen: {
      type: 'ip',
      default: '0.0.0.0',
      field: 'listenHost',
      description: 'agent 0: the address its control server binds',
    },
    'barrier-timeout': {
      type: 'duration',
      minMs: 100,
      maxMs: 3_600_000,
      default: 300_000,
      field: 'barrierTimeoutMs',
      description: 'how long the barrier waits for every index',
    },
    ...ALLOW_REMOTE_OPTION,
  },
  json: 'always: the agent result (and, for agent 0, the merged result) as the last stdout lines',
  async run({ values, given, io, signal }) {
    const env = io.env;
    const index =
      values.index ?? envInt(env, 'JOB_COMPLETION_INDEX', 'index', 0, AGENTS_RANGE.max - 1);
    const agents =
      values.agents ??
      envInt(env, 'FOURTUPLE_AGENTS', 'agents', AGENTS_RANGE.min, AGENTS_RANGE.max);
    if (index === undefined)
      throw new UsageError('--index is required (or JOB_COMPLETION_INDEX)', 'index');
    if (agents === undefined)
      throw new UsageError('--agents is required (or FOURTUPLE_AGENTS)', 'agents');
    if (index >= agents) {
      throw new UsageError(
        `--index must be an integer from 0 to ${agents - 1} (got ${index})`,
        'index',
      );
    }
    const allowRemote = values['allow-remote'];
    const targets: string[] = [];
    for (const t of values.target) {
      const r = await resolveTargetFlag('target', t, allowRemote);
      targets.push(r.family === 6 ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`);
    }
    const plan: ClusterPlan = {
      targets,
      connections: values.connections,
      rate: values.rate,
      holdMs: values.hold,
    };
    const r = await runAgent({
      plan,
      index,
      agents,
      coordinator: coordinatorOf(given.has('coordinator') ? values.coordinator : undefined, env),
      listenHost: values.listen,
      ...(env.FOURTUPLE_POD_NAME ? { pod: env.FOURTUPLE_POD_NAME } : {}),
      ...(env.FOURTUPLE_NODE_NAME ? { node: env.FOURTUPLE_NODE_NAME } : {}),
      ...(env.FOURTUPLE_POD_IP ? { source: env.FOURTUPLE_POD_IP } : {}),
      barrierTimeoutMs: values['barrier-timeout'],
      allowRemote,
      signal,
    });
    io.stderr.write(`${formatAgentRun(r)}\n`);
    io.stdout.write(`${toJson(r.agent)}\n`);
    if (r.merged) io.stdout.write(`${toJson(r.merged)}\n`);
    const ok = r.agent.reached && (r.merged ? r.merged.verdict === 'complete' : true);
    return ok ? 0 : 1;
  },
});
