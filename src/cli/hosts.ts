/** `fourtuple hosts up|down|list`: a lab of network namespaces a user can work in by hand. */
import { FourtupleError, UsageError } from '../errors.js';
import {
  type CleanupResult,
  canUseNetns,
  cleanupLabs,
  createLab,
  type DestroyResult,
  describeOccupants,
  destroyLab,
  isRunId,
  type LabInfo,
  type LabSummary,
  type LeftoverItem,
  listLabs,
  MACHINE_LIMITS,
  netnsUnavailable,
} from '../hosts/index.js';
import { type CommandContext, defineCommand } from './_command.js';
import { printJson, selfCommand, table } from './_output.js';
import { requireOption, type Spec, type Values } from './_spec.js';

const SUBCOMMANDS = ['up', 'down', 'list'] as const;

/** Human rendering of a created lab, with how to use it and how to remove it. */
export function formatLab(lab: LabInfo): string {
  const rows = lab.machines.map((m) => [m.name, m.address, m.netns ?? '-']);
  const [a, b] = [lab.machines[0], lab.machines[1] ?? lab.machines[0]];
  const exec = (ns: string | undefined) => `ip netns exec ${ns ?? 'NAME'}`;
  const self = selfCommand();
  return [
    `lab ${lab.runId}: ${lab.machines.length} machine(s), each a network namespace, created in ${lab.createMs} ms`,
    '',
    table(['machine', 'address', 'namespace'], rows),
    '',
    `All on ${lab.subnet}, joined by the bridge ${lab.bridge?.name} in a namespace of its own;`,
    "the root namespace's links, addresses and routes are untouched.",
    '',
    'Use it (as root): run any program inside a machine with `ip netns exec`, or give',
    "fourtuple's socket commands --host-ns:",
    `  ${self} listen --host-ns ${b?.netns} --host ${b?.address} --port 7000`,
    `  ${self} connect --host-ns ${a?.netns} --to ${b?.address}:7000`,
    `  ${exec(a?.netns)} ping -c1 ${b?.address}`,
    'Remove it:',
    `  ${self} hosts down --run ${lab.runId}      (or \`${self} cleanup\` for every leftover)`,
  ].join('\n');
}

/** One line per removed item, grouped: "ft-abc123-m0, ft-abc123-m1 (namespaces)". */
export function formatRemoved(removed: readonly LeftoverItem[]): string {
  if (removed.length === 0) return 'nothing of ours to remove';
  const byType = (t: LeftoverItem['type']) => removed.filter((r) => r.type === t);
  const runs = [...new Set(removed.map((r) => r.runId))];
  const lines = [
    `removed ${removed.length} item(s) of ${runs.length} run(s) (${runs.join(', ')}):`,
  ];
  const label = { netns: 'namespace', link: 'link', state: 'record' } as const;
  for (const t of ['netns', 'link', 'state'] as const) {
    for (const r of byType(t)) lines.push(`  ${label[t].padEnd(9)}  ${r.name}`);
  }
  return lines.join('\n');
}

export function formatLabs(labs: readonly LabSummary[]): string {
  if (labs.length === 0) return 'no labs of ours on this host';
  const rows = labs.map((l) => [
    l.runId,
    l.status,
    String(l.machines.length || l.namespaces.filter((n) => !n.endsWith('-br')).length),
    String(l.namespaces.length),
    l.ownerPid === null ? '-' : String(l.ownerPid),
    String(l.occupants.length),
    l.createdAt ?? '-',
  ]);
  return [
    table(['run', 'status', 'machines', 'namespaces', 'owner pid', 'inside', 'created'], rows, [
      'left',
      'left',
      'right',
      'right',
      'right',
      'right',
    ]),
    '',
    'in-use: its process is running; kept: left by `hosts up`; leftover: its process is gone.',
    'inside: processes in its namespaces (`ip netns pids`); a lab with any is in use too.',
    '`fourtuple hosts down` or `fourtuple cleanup` removes every lab that is not in use (--force: also one with processes inside).',
  ].join('\n');
}

/** What cleanup left alone, one line per reason (empty when nothing). */
export function formatLeftAlone(r: CleanupResult, allFlag?: string): string {
  let text = '';
  if (r.inUse.length > 0) {
    const ids = r.inUse.map((l) => `${l.runId} (pid ${l.ownerPid})`).join(', ');
    const hint = allFlag ? ` (${allFlag} removes them too)` : '';
    text += `left alone, in use by a running process: ${ids}${hint}\n`;
  }
  for (const l of r.occupied) {
    text += `left alone, in use: lab ${l.runId} has ${describeOccupants(l.occupants)} (--force removes it anyway)\n`;
  }
  return text;
}

/** --force: remove a lab even with processes inside its namespaces. */
export const FORCE_OPTION = {
  force: {
    type: 'boolean',
    field: false,
    description: 'also remove labs with processes inside their namespaces (ip netns pids)',
  },
} as const satisfies Spec;

/** --run ID: a run id as `hosts up` and `hosts list` print it. */
function runId(text: string, flag: string): string {
  if (!isRunId(text)) {
    throw new UsageError(
      `--${flag} must be a run id, 6 characters [0-9a-z] as \`fourtuple hosts list\` shows (got "${text}")`,
      flag,
    );
  }
  return text;
}

const OPTIONS = {
  machines: {
    type: 'int',
    ...MACHINE_LIMITS.netns,
    short: 'n',
    required: 'with up',
    description: 'with up: machines',
  },
  run: {
    type: 'custom',
    placeholder: 'ID',
    accepts: 'a run id (6 characters [0-9a-z])',
    field: 'runId',
    description: 'with down: the run id (6 characters, as up and list print it)',
    parse: runId,
  },
  ...FORCE_OPTION,
} as const satisfies Spec;

type HostsContext = CommandContext<Values<typeof OPTIONS>>;

async function up(ctx: HostsContext): Promise<number> {
  const { values, io, signal } = ctx;
  const machines = requireOption(ctx, 'machines');
  const support = await canUseNetns();
  if (!support.ok) throw netnsUnavailable(support.reason);
  // FOURTUPLE_HOSTS_STEP_DELAY_MS (tests only) pauses between steps so a signal lands midway.
  const delay = Number(io.env.FOURTUPLE_HOSTS_STEP_DELAY_MS ?? 0);
  const lab = await createLab({
    kind: 'netns',
    machines,
    keep: true,
    signal,
    ...(delay > 0 ? { stepDelayMs: delay } : {}),
  });
  if (values.json) printJson(io, lab);
  else io.stdout.write(`${formatLab(lab)}\n`);
  return 0;
}

async function down({ values, io }: HostsContext): Promise<number> {
  const run = values.run;
  let result: DestroyResult | CleanupResult;
  if (run !== undefined) {
    result = await destroyLab(run, { ifUnused: !values.force });
    if (result.removed.length === 0) {
      throw new FourtupleError(
        'FOURTUPLE_NO_LAB',
        `no lab with run id ${run} (see \`fourtuple hosts list\`)`,
      );
    }
  } else {
    result = await cleanupLabs({ force: values.force });
  }
  if (values.json) printJson(io, result);
  else {
    io.stdout.write(`${formatRemoved(result.removed)}\n`);
    if ('inUse' in result) io.stdout.write(formatLeftAlone(result));
  }
  return 0;
}

async function list({ values, io }: HostsContext): Promise<number> {
  const labs = await listLabs();
  if (values.json) printJson(io, labs);
  else io.stdout.write(`${formatLabs(labs)}\n`);
  return 0;
}

export const hostsCommand = defineCommand({
  name: 'hosts',
  summary: 'a lab of machines (network namespaces) to run fourtuple in: up, down, list',
  description: `up    creates N machines, each a network namespace ft-<run>-m<k> with its own network stack,
      lo up and one address 198.18.0.(k+1)/16, joined by a bridge in a namespace of its own
      (ft-<run>-br), so the root namespace is untouched. Leaves the lab running and prints
      how to use it: ip netns exec ft-<run>-m0 fourtuple listen ... Needs root.
      Interrupted (Ctrl-C) while creating, it removes what it created.
down  removes the lab --run ID, or without --run every lab not in use by a running process;
      a lab with processes inside its namespaces is left as it is unless --force.
list  lists every lab of ours on this host, with its status.`,
  epilog: `Examples:
  sudo fourtuple hosts up --machines 3
  sudo ip netns exec ft-<run>-m1 fourtuple listen --host 198.18.0.2 --port 7000
  sudo fourtuple hosts down --run <run>`,
  args: { usage: 'up|down|list', description: 'the subcommand' },
  options: OPTIONS,
  async run(ctx) {
    const [sub, ...extra] = ctx.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      const got = sub === undefined ? '' : ` (got "${sub}")`;
      throw new UsageError(`hosts needs a subcommand: up, down or list${got}`);
    }
    if (extra.length > 0)
      throw new UsageError(`unexpected argument "${extra[0]}" after hosts ${sub}`);
    if (sub !== 'up' && ctx.values.machines !== undefined) {
      throw new UsageError('--machines goes with `hosts up` only', 'machines');
    }
    if (sub !== 'down' && ctx.values.run !== undefined) {
      throw new UsageError('--run goes with `hosts down` only', 'run');
    }
    if (sub !== 'down' && ctx.values.force) {
      throw new UsageError('--force goes with `hosts down` only', 'force');
    }
    if (sub === 'up') return up(ctx);
    if (sub === 'down') return down(ctx);
    return list(ctx);
  },
});
