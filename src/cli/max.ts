/** `fourtuple max`: as many concurrent connections as the machine allows, and what stopped it. */
import { InterruptedError, UsageError } from '../errors.js';
import { ephemeralPortRange } from '../limits/procfs.js';
import { type MemSample, readMem } from '../scale/_proc.js';
import { type MaxResult, type Progress, runMax } from '../scale/coordinator.js';
import { defaultDurationMs } from '../scale/plan.js';
import { DEFAULT_PORT_STRATEGY, PORT_STRATEGIES } from '../scale/ports.js';
import { type FailureKind, type FailureRecord, parseProbe, showBytes } from '../scale/probe.js';
import { cpuText, explainTail } from '../scale/rates.js';
import { getNofileLimit } from '../sockets/rlimit.js';
import { destinationCeiling } from '../theory/index.js';
import { formatBytes } from '../units.js';
import { conflicts, defineCommand } from './_command.js';
import { groupDigits, printJson, table, toJson } from './_output.js';
import { REPORT_OPTION, writeCommandReport } from './_report.js';
import { ALLOW_REMOTE_OPTION, resolveTargetFlag, TARGET_ACCEPTS, targetText } from './_targets.js';
import { formatTls, TLS_OPTIONS, tlsOptions } from './_tls.js';

/**
 * --memory-floor at or above what is available now would stop the run before it starts (or,
 * worse, after the first step): refused up front (available: the lower of MemAvailable and this
 * process's memory cgroup).
 */
export function checkMemoryFloor(floorBytes: number, mem: MemSample): void {
  if (floorBytes < mem.availableBytes) return;
  const where = mem.cgroup ? ` in the memory cgroup ${mem.cgroup}` : ' (MemAvailable)';
  throw new UsageError(
    `--memory-floor must be below the memory available now, ${formatBytes(mem.availableBytes)}${where} (got ${formatBytes(floorBytes)})`,
    'memory-floor',
  );
}

/** --target: 1 to 64 destinations, comma-separated, each checked for shape (resolved later). */
function targetList(text: string, flag: string): string[] {
  const items = text.split(',').map((t) => targetText(t.trim(), flag));
  if (items.length > 64) {
    throw new UsageError(`--${flag} takes 1 to 64 listeners (got ${items.length})`, flag);
  }
  return items;
}

/** --probe: a preset or send:DATA,expect:PREFIX, checked here; resolved by the library. */
function probeText(text: string, flag: string): string {
  try {
    parseProbe(text);
  } catch (err) {
    throw new UsageError(`--${flag} ${text}: ${(err as Error).message}`, flag);
  }
  return text;
}

/** The server's failures by kind: "closed-at-once x1,000 (first bytes: `-ERR ...`)". */
function kindsText(r: MaxResult): string {
  return (Object.entries(r.failuresByKind) as [FailureKind, FailureRecord][])
    .map(
      ([k, v]) =>
        `${k} x${groupDigits(v.count)}${v.firstBytes ? ` (first bytes: \`${showBytes(v.firstBytes.slice(0, 60))}\`)` : ''}`,
    )
    .join(', ');
}

function bytesEach(bytes: number): string {
  // 0: nothing was established, so there is no per-connection figure
  return bytes > 0 ? formatBytes(bytes) : 'n/a';
}

/** ", flat cost 0.92 (80-90% of the peak at 9,100/s, 10-20% at 9,900/s)", or nothing. */
function flatText(r: MaxResult): string {
  const f = r.flatCost;
  if (!f || f.ratio === null) return '';
  return `, flat cost ${f.ratio} (80-90% of the peak at ${groupDigits(f.ratePer80To90 ?? 0)}/s, 10-20% at ${groupDigits(f.ratePer10To20 ?? 0)}/s)`;
}

/** The CPU each connection cost at the start and in the tail, and why the tail was slower. */
function tailRows(r: MaxResult): string[][] {
  const c = r.flatCost?.cpu;
  if (!r.flatCost || !c?.per10To20 || !c.per80To90) return [];
  const rows = [
    [
      'CPU per connection',
      `10-20% of the peak ${cpuText(c.per10To20)}; 80-90% ${cpuText(c.per80To90)}`,
    ],
  ];
  const why = explainTail(r.flatCost, r.limits.pageReportingOrder);
  if (why) rows.push(['slower tail', why]);
  return rows;
}

export function formatMax(r: MaxResult): string {
  const rows: string[][] = [
    [
      'requested',
      r.requested === 'auto' ? `auto (${groupDigits(r.planned)} planned)` : groupDigits(r.planned),
    ],
    ['established (peak)', groupDigits(r.established)],
    ['accepted', r.mode === 'target' ? 'n/a (not our listener)' : groupDigits(r.accepted)],
    [
      'verified alive',
      `${groupDigits(r.alive)}${r.dead ? ` (${groupDigits(r.dead)} dead)` : ''}${r.unverified ? ` (${groupDigits(r.unverified)} unverified: not checked within ${(r.probes.verifyTimeoutMs / 1000).toFixed(0)} s)` : ''}`,
    ],
    [
      'probe',
      `${r.probes.probe}${r.probes.intervalMs ? `, every ${(r.probes.intervalMs / 1000).toFixed(1)} s during the hold (${r.probes.rounds.length} rounds, ${groupDigits(r.probes.rounds.reduce((n, x) => n + x.died, 0))} died)` : ''}`,
    ],
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
    ['port strategy', `${r.portStrategy}${flatText(r)}`],
    ...tailRows(r),
    [
      'kernel memory',
      `${bytesEach(r.memory.kernelBytesPerConnection)} per connection (Slab delta${r.memory.observerBytesPerConnection ? `; ${bytesEach(r.memory.observerBytesPerConnection)} of it /proc inodes that a program listing descriptors made` : ''})`,
    ],
    [
      'process memory',
      `${bytesEach(r.memory.processRssBytesPerConnection)} RSS / ${bytesEach(r.memory.processPssBytesPerConnection)} PSS per connection (${formatBytes(r.memory.processRssBytes)} RSS in all)`,
    ],
    [
      'total memory',
      `${bytesEach(r.memory.totalBytesPerConnection)} per connection (Slab + RSS); ${bytesEach(r.memory.totalPssBytesPerConnection)} (Slab + PSS)`,
    ],
    [
      'teardown',
      `${r.sockstat.clean ? 'clean' : 'NOT clean'}: TCP inuse ${r.sockstat.before.tcpInuse} -> ${r.sockstat.peak.tcpInuse} -> ${r.sockstat.after.tcpInuse}, TIME_WAIT ${r.sockstat.before.tcpTimeWait} -> ${r.sockstat.after.tcpTimeWait}`,
    ],
  ];
  const failures = Object.entries(r.failures);
  if (failures.length) rows.push(['failures', failures.map(([k, v]) => `${k} x${v}`).join(', ')]);
  if (Object.keys(r.failuresByKind).length) rows.push(['server did', kindsText(r)]);
  if (r.crashes.length)
    rows.push([
      'worker crashes',
      r.crashes.map((c) => `${c.pid} (${c.signal ?? c.code})`).join(', '),
    ]);
  return [
    table(['', ''], rows).split('\n').slice(2).join('\n'),
    '',
    // the memory guard's detail already reads "stopped by the memory guard: ..."; the target's
    // "reached the requested N connections" is a success, not something that stopped it
    r.stoppedBy.detail.startsWith('stopped by') || r.stoppedBy.reason === 'target'
      ? r.stoppedBy.detail
      : `stopped by${r.stoppedBy.side ? ` (${r.stoppedBy.side === 'server' ? 'the server' : 'this client'})` : ''}: ${r.stoppedBy.detail}`,
  ].join('\n');
}

/** The flags of plain `max` that `--tls` cannot honour, refused with it (exit 2). */
export const TLS_IGNORES = [
  'workers',
  'fds-per-worker',
  'concurrency',
  'probe',
  'probe-interval',
  'port-strategy',
] as const;

export function progressLine(p: Progress): string {
  const f = Object.entries(p.failures)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  return `[${p.phase}] ${groupDigits(p.established)}/${groupDigits(p.target)} established, ${groupDigits(p.rate)}/s, ${p.workers} workers, MemAvailable ${formatBytes(p.memAvailableBytes)}${f ? `, failures ${f}` : ''}`;
}

export const maxCommand = defineCommand({
  name: 'max',
  summary: 'open as many connections as the machine allows, hold, verify, say what stopped it',
  description: `Opens connections on loopback with fourtuple's own listeners and connectors (both ends held as
plain descriptors in worker processes, each under its descriptor limit), holds them, checks each
one is alive with a one-byte echo, closes them with RSTs (no TIME_WAIT left) and reports the
peak, the rate, the memory per connection and the wall that stopped it. With --target it only
connects, to listeners that are loopback (max runs in this namespace) unless --allow-remote;
then --connections N and --rate R are required. With --tls every connection speaks TLS (servers
and clients in separate processes): the CPU per handshake and the memory per connection of each
side, beside a short plain-TCP baseline, and the CPU and memory walls they imply; --rate paces
its handshakes, and --workers, --fds-per-worker, --concurrency, --probe, --probe-interval and
--port-strategy (the plain engine's) are refused with it.`,
  options: {
    connections: {
      type: 'int',
      min: 1,
      max: 10_000_000,
      auto: true,
      default: 'auto',
      short: 'n',
      description: 'connections to open; auto: as many as memory above the floor allows',
    },
    target: {
      type: 'custom',
      placeholder: 'LIST',
      accepts: `1 to 64 comma-separated ${TARGET_ACCEPTS}`,
      field: 'targets',
      description: 'only connect, to these listeners (IP:PORT or NAME:PORT, comma-separated)',
      parse: targetList,
    },
    workers: {
      type: 'int',
      min: 1,
      max: 1000,
      auto: true,
      defaultText: 'enough for the descriptors',
      description: 'worker processes',
    },
    rate: {
      type: 'int',
      min: 1,
      max: 10_000_000,
      defaultText: 'unlimited',
      description: 'connects per second over all workers',
    },
    hold: {
      type: 'duration',
      minMs: 0,
      maxMs: 3_600_000,
      default: 10_000,
      field: 'holdMs',
      description: 'how long to hold before verifying',
    },
    duration: {
      type: 'duration',
      minMs: 1000,
      maxMs: 3_600_000,
      defaultText: '2m (10m with --connections auto or --tls)',
      field: 'durationMs',
      description: 'bound on the ramp',
    },
    'memory-floor': {
      type: 'size',
      min: 0,
      max: 1024 ** 4,
      field: 'memoryFloorBytes',
      defaultText: '10% of RAM or 2G, whichever is larger',
      description: 'stop ramping before MemAvailable falls below it',
    },
    'fds-per-worker': {
      type: 'int',
      min: 64,
      max: { text: 'its RLIMIT_NOFILE', of: () => getNofileLimit().soft },
      defaultText: 'the limit',
      description: 'descriptor budget per worker',
    },
    window: {
      type: 'int',
      min: 1,
      max: 4096,
      default: 128,
      description: 'connects in flight per worker',
    },
    concurrency: {
      type: 'int',
      min: 1,
      max: 1000,
      defaultText: '4 x cores',
      description: 'workers ramping at once',
    },
    probe: {
      type: 'custom',
      placeholder: 'PROBE',
      accepts: 'echo, none, redis, http, or send:DATA,expect:PREFIX (C-style escapes)',
      defaultText: 'echo',
      description:
        "how each connection is checked: echo (fourtuple's listeners), none (still open), redis (PING), http (HEAD /), or send:DATA,expect:PREFIX",
      parse: probeText,
    },
    'probe-interval': {
      type: 'duration',
      minMs: 100,
      maxMs: 3_600_000,
      field: 'probeIntervalMs',
      defaultText: 'only at verify',
      description: 'also probe every connection this often during the hold',
    },
    'connect-timeout': {
      type: 'duration',
      minMs: 100,
      maxMs: 600_000,
      default: 5000,
      field: 'connectTimeoutMs',
      description:
        "a connect whose SYN is not answered this long fails (the server's backlog is full)",
    },
    'port-strategy': {
      type: 'choice',
      choices: PORT_STRATEGIES,
      default: DEFAULT_PORT_STRATEGY,
      field: 'portStrategy',
      description:
        "how each connection gets its source address and port: kernel (connect picks 127.0.0.1 and a port), bind-no-port (the worker's own 127.64+ IP, IP_BIND_ADDRESS_NO_PORT), pick (fourtuple binds the worker's IP and each port itself), ip-local-port-range (a slice of the range per worker, Linux 6.3+)",
    },
    'json-stream': {
      type: 'boolean',
      field: false,
      description:
        'one JSON progress line per sample on stdout (every 250 ms during the ramp, every second in the hold), then the result',
    },
    ...TLS_OPTIONS,
    ...REPORT_OPTION,
    ...ALLOW_REMOTE_OPTION,
  },
  async run(ctx) {
    const { values, io, signal } = ctx;
    const { connections, workers, rate, window, concurrency } = values;
    const allowRemote = values['allow-remote'];
    const holdMs = values.hold;
    const durationMs = values.duration ?? defaultDurationMs({ connections, tls: values.tls });
    const memoryFloorBytes = values['memory-floor'];
    const fdsPerWorker = values['fds-per-worker'];
    const probe = values.probe;
    const probeIntervalMs = values['probe-interval'];
    const connectTimeoutMs = values['connect-timeout'];
    if (values.json && values['json-stream']) {
      throw new UsageError('--json and --json-stream cannot be used together', 'json');
    }
    if (memoryFloorBytes !== undefined) checkMemoryFloor(memoryFloorBytes, readMem());
    const tls = tlsOptions(values);
    // the TLS path has its own workers (a server and a client process per 10,000) and checks
    // every connection with an encrypted echo: these flags of the plain engine would be ignored
    if (tls) for (const flag of TLS_IGNORES) conflicts(ctx, 'tls', flag);
    // Last, once every other flag is known good: resolve the targets and apply the policy.
    let targets: { host: string; port: number }[] | undefined;
    if (values.target !== undefined) {
      targets = [];
      for (const t of values.target) {
        const r = await resolveTargetFlag('target', t, allowRemote);
        targets.push({ host: r.host, port: r.port });
      }
      // the per-destination ceiling, said before the run rather than found at EADDRNOTAVAIL
      // (the workers connect from one source address, the kernel's choice)
      if (typeof connections === 'number') {
        const { warning } = destinationCeiling(connections, targets.length, ephemeralPortRange());
        if (warning) io.stderr.write(`fourtuple max: warning: ${warning}\n`);
      }
    }
    const report = values.report;
    const stream = values['json-stream'];
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
        ...(probe !== undefined ? { probe } : {}),
        ...(probeIntervalMs !== undefined ? { probeIntervalMs } : {}),
        connectTimeoutMs,
        ...(tls ? { tls } : {}),
        portStrategy: values['port-strategy'],
        signal,
      },
      onProgress,
    );
    if (io.stderrIsTTY && !stream) io.stderr.write('\r\x1b[2K');
    if (stream) io.stdout.write(`${toJson({ event: 'result', ...r })}\n`);
    else if (values.json) printJson(io, r);
    else io.stdout.write(`${formatMax(r)}\n${r.tls ? `\n${formatTls(r)}\n` : ''}`);
    writeCommandReport(report, { max: r }, io);
    if (signal.aborted)
      return signal.reason instanceof InterruptedError ? signal.reason.exitCode : 130;
    const checked = r.dead === 0 && r.unverified === 0;
    // with auto, the memory guard is the answer asked for: as many as memory allows
    const reached =
      r.stoppedBy.reason === 'target' ||
      (r.requested === 'auto' && r.stoppedBy.reason === 'memory-guard');
    return reached && checked && r.sockstat.clean ? 0 : 1;
  },
});
