/** `fourtuple merge FILE...|-`: agents' result lines merged, even when agent 0 is gone. */
import { readFileSync } from 'node:fs';
import { type MergedResult, mergeAgents, parseAgentLines } from '../cluster/merge.js';
import { AGENTS_RANGE } from '../cluster/shard.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../units.js';
import { defineCommand } from './_command.js';
import { groupDigits, printJson, table } from './_output.js';

/** Reads at most this much from each input: agent lines are short, a log is not a result. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

function readInput(file: string): string {
  try {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    if (text.length > MAX_INPUT_BYTES) {
      throw new UsageError(`"${file}" is over ${formatBytes(MAX_INPUT_BYTES)}: not agent lines`);
    }
    return text;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`"${file}" cannot be read (${code})`);
  }
}

export function formatMerged(m: MergedResult): string {
  const r = m.roster;
  const rows = m.agents.map((a) => [
    String(a.index),
    a.pod,
    a.node,
    a.source,
    groupDigits(a.established),
    groupDigits(a.alive),
    groupDigits(a.dead),
    String(a.holdStart - (m.window?.start ?? a.holdStart)),
    a.error
      ? `error: ${a.error}`
      : m.outsideWindow.includes(a.index)
        ? 'outside the window'
        : a.reached
          ? 'ok'
          : a.stoppedBy,
  ]);
  return [
    `roster: ${r.present.length} of ${r.expected} agents` +
      `${r.missing.length ? `; missing ${r.missing.join(', ')}` : ''}` +
      `${r.failed.length ? `; failed ${r.failed.join(', ')}` : ''}` +
      `${r.duplicate.length ? `; duplicate ${r.duplicate.join(', ')}` : ''}`,
    `together: ${groupDigits(m.aliveInWindow)} connections alive in the common hold window` +
      `${m.window ? ` (${m.window.end - m.window.start} ms)` : ' (no common window)'}; ` +
      `start skew ${m.startSkewMs} ms; in all ${groupDigits(m.totals.established)} established, ${groupDigits(m.totals.dead)} dead, ${groupDigits(m.totals.unverified)} unverified`,
    '',
    table(
      ['index', 'pod', 'node', 'source', 'established', 'alive', 'dead', 'start +ms', 'state'],
      rows,
      ['right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
    ),
    '',
    `verdict: ${m.verdict}`,
  ].join('\n');
}

export const mergeCommand = defineCommand({
  name: 'merge',
  summary: "merge the agents' result lines of a cluster run (kubectl logs prefixes tolerated)",
  description: `Reads the last lines the agents of a cluster run printed (for example
\`kubectl logs -l job-name=NAME --prefix --tail=1\`), each an agent's result as JSON, and merges
them: the roster (expected, present, missing, failed and duplicate indexes), the totals, the
window every agent held at once and the connections alive in it (agents whose hold did not
overlap it are not summed, and named), and one row per agent. Works without agent 0.`,
  epilog: `Exit codes: 0 complete; 1 partial (an index missing, failed, duplicated or outside the
window); 2 bad input (no agent line found).`,
  args: { usage: 'FILE... | -', description: "files of agents' output, or - for stdin" },
  options: {
    agents: {
      type: 'int',
      min: AGENTS_RANGE.min,
      max: AGENTS_RANGE.max,
      defaultText: 'the count the agents report',
      description: 'how many agents were expected',
    },
  },
  async run({ values, positionals, io }) {
    if (positionals.length === 0) throw new UsageError('expects FILE... or - (agent lines)');
    const results = positionals.flatMap((f) => parseAgentLines(readInput(f)));
    if (results.length === 0) {
      throw new UsageError('no agent result line found (each agent prints its result last)');
    }
    const m = mergeAgents(results, values.agents);
    if (values.json) printJson(io, m);
    else io.stdout.write(`${formatMerged(m)}\n`);
    return m.verdict === 'complete' ? 0 : 1;
  },
});
