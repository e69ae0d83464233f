/** `fourtuple max`: as many concurrent connections as the machine allows, and what stopped it. */
import { InterruptedError, UsageError } from '../errors.js';
import { type MaxResult, type Progress, runMax } from '../scale/coordinator.js';
import { getNofileLimit } from '../sockets/rlimit.js';
import { durationFlag, intFlag, parseSize, stringFlag } from './_args.js';
import type { Command, ParsedValues } from './_command.js';
import { groupDigits, printJson, table, toJson } from './_output.js';
import { REPORT_OPTION, reportFlag, writeCommandReport } from './_report.js';
import { ALLOW_REMOTE_OPTION, allowRemoteFlag, resolveTargetFlag } from './_targets.js';

const MiB = 1024 ** 2;

function countOrAuto(values: ParsedValues, flag: string, max: number): number | 'auto' | undefined {
  const v = stringFlag(values, flag);
  if (v === undefined || v === 'auto') return v === 'auto' ? 'auto' : undefined;
  return intFlag(values, flag, 1, max);
}

function kb(bytes: number): string {
  // 0: nothing was established, so there is no per-connection figure
  return bytes > 0 ? `${(bytes / 1024).toFixed(1)} KB` : 'n/a';
}

export function formatMax(r: MaxResult): string {
  const rows: string[][] = [
    [
      'requested',
      r.requested === 'auto' ? `auto (${groupDigits(r.planned)} planned)` : groupDigits(r.planned),
    ],
    ['established (peak)', groupDigits(r.established)],
    ['accepted', r.mode === 'target' ? 'n/a (not our listener)' : groupDigits(r.accepted)],
    ['verified alive', `${groupDigits(r.alive)}${r.dead ? ` (${groupDigits(r.dead)} dead)` : ''}`],
    [
      'workers',
      `${r.workers} x up to ${groupDigits(r.connectionsPerWorker)} connections (${groupDigits(r.fdsPerWorker)} descriptors each)`,
    ],
    [
      'time to peak',
      `${(r.timing.timeToPeakMs / 1000).toFixed(1)} s (startup ${(r.timing.startupMs / 1000).toFixed(1)} s before it)`,
    ],
    [
      'rate',
      `median ${groupDigits(r.rate.medianPerSec)}/s, peak ${groupDigits(r.rate.peakPerSec)}/s, mean ${groupDigits(r.rate.meanPerSec)}/s`,
    ],
    ['kernel memory', `${kb(r.memory.kernelBytesPerConnection)} per connection (Slab delta)`],
    [
      'process memory',
      `${kb(r.memory.processRssBytesPerConnection)} RSS / ${kb(r.memory.processPssBytesPerConnection)} PSS per connection (${Math.round(r.memory.processRssBytes / MiB)} MiB RSS in all)`,
    ],
    [
      'total memory',
      `${kb(r.memory.totalBytesPerConnection)} per connection (Slab + RSS); ${kb(r.memory.totalPssBytesPerConnection)} (Slab + PSS)`,
    ],
    [
      'teardown',
      `${r.sockstat.clean ? 'clean' : 'NOT clean'}: TCP inuse ${r.sockstat.before.tcpInuse} -> ${r.sockstat.peak.tcpInuse} -> ${r.sockstat.after.tcpInuse}, TIME_WAIT ${r.sockstat.before.tcpTimeWait} -> ${r.sockstat.after.tcpTimeWait}`,
    ],
  ];
  const failures = Object.entries(r.failures);
  if (failures.length) rows.push(['failures', failures.map(([k, v]) => `${k} x${v}`).join(', ')]);
  if (r.crashes.length)
    rows.push([
      'worker crashes',
      r.crashes.map((c) => `${c.pid} (${c.signal ?? c.code})`).join(', '),
    ]);
  return [
    table(['', ''], rows).split('\n').slice(2).join('\n'),
    '',
    // the memory guard's detail already reads "stopped by the memory guard: ..."
    r.stoppedBy.detail.startsWith('stopped by')
      ? r.stoppedBy.detail
      : `stopped by: ${r.stoppedBy.detail}`,
  ].join('\n');
}

export function progressLine(p: Progress): string {
  const f = Object.entries(p.failures)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  return `[${p.phase}] ${groupDigits(p.established)}/${groupDigits(p.target)} established, ${groupDigits(p.rate)}/s, ${p.workers} workers, MemAvailable ${Math.round(p.memAvailableBytes / MiB)} MiB${f ? `, failures ${f}` : ''}`;
}

export const maxCommand: Command = {
  name: 'max',
  summary: 'open as many connections as the machine allows, hold, verify, say what stopped it',
  help: `Usage: fourtuple max [--connections N|auto] [--target IP:PORT[,IP:PORT...]] [--workers W|auto]
                     [--rate R] [--hold 10s] [--duration 120s] [--memory-floor SIZE]
                     [--fds-per-worker N] [--window N] [--concurrency N] [--allow-remote]
                     [--report FILE.html] [--json | --json-stream]

Opens connections on loopback with fourtuple's own listeners and connectors (both ends held as
plain descriptors in worker processes, each under its descriptor limit), holds them, checks each
one is alive with a one-byte echo, closes them with RSTs (no TIME_WAIT left) and reports the
peak, the rate, the memory per connection and the wall that stopped it.

Options:
  --connections N    connections to open, 1 to 10000000, or auto (default: auto, as many as
                     memory above the floor allows)
  --target LIST      only connect, to these listeners (IP:PORT or NAME:PORT, comma-separated):
                     loopback only (max runs in this namespace), unless --allow-remote
  --allow-remote     allow targets elsewhere; then --connections N and --rate R are required
  --workers W        worker processes, 1 to 1000, or auto (default: enough for the descriptors)
  --rate R           connects per second over all workers, 1 to 10000000 (default: unlimited)
  --hold T           how long to hold before verifying, 0s to 1h (default 10s)
  --duration T       bound on the ramp, 1s to 1h (default 120s)
  --memory-floor S   stop ramping before MemAvailable falls below S (default: 10% of RAM or
                     2G, whichever is larger), 0 to 1024G
  --fds-per-worker N descriptor budget per worker, 64 to its RLIMIT_NOFILE (default: the limit)
  --window N         connects in flight per worker, 1 to 4096 (default 128)
  --concurrency N    workers ramping at once, 1 to 1000 (default: 4 x cores)
  --json-stream      one JSON progress line per second on stdout, then the result`,
  options: {
    connections: { type: 'string', short: 'n' },
    target: { type: 'string' },
    workers: { type: 'string' },
    rate: { type: 'string' },
    hold: { type: 'string' },
    duration: { type: 'string' },
    'memory-floor': { type: 'string' },
    'fds-per-worker': { type: 'string' },
    window: { type: 'string' },
    concurrency: { type: 'string' },
    'json-stream': { type: 'boolean' },
    ...REPORT_OPTION,
    ...ALLOW_REMOTE_OPTION,
  },
  async run({ values, io, signal }) {
    const connections = countOrAuto(values, 'connections', 10_000_000) ?? 'auto';
    const workers = countOrAuto(values, 'workers', 1000);
    const targetText = stringFlag(values, 'target');
    const allowRemote = allowRemoteFlag(values);
    const rate = values.rate === undefined ? undefined : intFlag(values, 'rate', 1, 10_000_000);
    const holdMs = durationFlag(values, 'hold', 0, 3_600_000, 10_000);
    const durationMs = durationFlag(values, 'duration', 1000, 3_600_000, 120_000);
    const floorText = stringFlag(values, 'memory-floor');
    const memoryFloorBytes =
      floorText === undefined ? undefined : parseSize('memory-floor', floorText, 0, 1024 ** 4);
    const fdsPerWorker =
      values['fds-per-worker'] === undefined
        ? undefined
        : intFlag(values, 'fds-per-worker', 64, getNofileLimit().soft);
    const window = intFlag(values, 'window', 1, 4096, 128);
    const concurrency =
      values.concurrency === undefined ? undefined : intFlag(values, 'concurrency', 1, 1000);
    if (values.json && values['json-stream']) {
      throw new UsageError('--json and --json-stream cannot be used together', 'json');
    }
    // Last, once every other flag is known good: resolve the targets and apply the policy.
    let targets: { host: string; port: number }[] | undefined;
    if (targetText !== undefined) {
      targets = [];
      for (const t of targetText.split(',')) {
        const r = await resolveTargetFlag('target', t.trim(), allowRemote);
        targets.push({ host: r.host, port: r.port });
      }
      if (targets.length > 64) {
        throw new UsageError(`--target takes 1 to 64 listeners (got ${targets.length})`, 'target');
      }
    }
    const report = reportFlag(values);
    const stream = Boolean(values['json-stream']);
    const onProgress = (p: Progress): void => {
      if (stream) io.stdout.write(`${toJson({ event: 'progress', ...p })}\n`);
      else if (io.stderrIsTTY) io.stderr.write(`\r\x1b[2K${progressLine(p)}`);
    };
    const r = await runMax(
      {
        connections,
        ...(workers !== undefined ? { workers } : {}),
        ...(targets ? { targets, allowRemote } : {}),
        ...(rate !== undefined ? { rate } : {}),
        holdMs,
        durationMs,
        ...(memoryFloorBytes !== undefined ? { memoryFloorBytes } : {}),
        ...(fdsPerWorker !== undefined ? { fdsPerWorker } : {}),
        window,
        ...(concurrency !== undefined ? { concurrency } : {}),
        signal,
      },
      onProgress,
    );
    if (io.stderrIsTTY && !stream) io.stderr.write('\r\x1b[2K');
    writeCommandReport(report, { max: r }, io);
    if (stream) io.stdout.write(`${toJson({ event: 'result', ...r })}\n`);
    else if (values.json) printJson(io, r);
    else io.stdout.write(`${formatMax(r)}\n`);
    if (signal.aborted)
      return signal.reason instanceof InterruptedError ? signal.reason.exitCode : 130;
    return r.stoppedBy.reason === 'target' && r.dead === 0 && r.sockstat.clean ? 0 : 1;
  },
};
