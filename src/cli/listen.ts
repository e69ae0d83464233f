/** `fourtuple listen`: the echo listener. */
import { descriptorBudget, type ListenerEvent, startListener } from '../endpoints/listener.js';
import {
  autoListenerWorkers,
  type GroupEvent,
  type ListenerGroupOptions,
  startListenerGroup,
} from '../endpoints/listener-group.js';
import { ephemeralPortRange } from '../limits/procfs.js';
import { errnoMeaning } from '../sockets/errno.js';
import { defineCommand } from './_command.js';
import { groupDigits, toJson } from './_output.js';
import { NETNS_OPTION, REUSE_OPTIONS } from './_socketflags.js';

export function formatListenerEvent(e: ListenerEvent): string {
  switch (e.event) {
    case 'listening':
      return `listening on ${e.local} (tag "${e.tag}"); Ctrl-C to stop`;
    case 'accept':
      return `accept ${e.local} <- ${e.remote}`;
    case 'data':
      return `data   ${e.local} <- ${e.remote}: ${e.bytes} bytes "${e.text}"`;
    case 'drop':
      return `drop   ${e.local} <- ${e.remote}: out of descriptors (${e.open} connections open, RLIMIT_NOFILE); closed at once, ${e.dropped} dropped so far`;
    case 'error':
      return `error  ${e.local}: ${e.syscall} ${e.error} (${errnoMeaning(e.error)}); still listening`;
    case 'close':
      return `close  ${e.local} <- ${e.remote}: in ${e.bytesIn} B, out ${e.bytesOut} B${e.error ? ` (${e.error})` : ''}`;
  }
}

/** An event of a `--workers` group: the process's own line, led by its index. */
export function formatGroupEvent(e: GroupEvent): string {
  switch (e.event) {
    case 'listening':
      return `listening on ${e.local} (tag "${e.tag}"): worker ${e.worker} of ${e.workers}, pid ${e.pid}, up to ${groupDigits(e.budget)} connections; Ctrl-C to stop`;
    case 'worker-exit':
      return `worker ${e.worker} (pid ${e.pid}) exited (${e.signal ?? `code ${e.code}`}): its share of the connections is lost; stopping the others`;
    default:
      return `[w${e.worker}] ${formatListenerEvent(e)}`;
  }
}

/**
 * `--workers`: the group's events as they come, then its counts when it stopped, summed and by
 * process (what each one accepted and dropped). Exit 1 when one of its processes died.
 */
async function listenGroup(
  options: ListenerGroupOptions,
  json: boolean | undefined,
  out: NodeJS.WritableStream,
): Promise<number> {
  const group = await startListenerGroup(options, (e) => {
    out.write(`${json ? toJson(e) : formatGroupEvent(e)}\n`);
  });
  const end = await group.closed;
  const stopped = {
    event: 'stopped' as const,
    ...group.stats(),
    workers: group.perWorker().map((s, worker) => ({
      worker,
      pid: group.pids[worker]!,
      accepted: s.accepted,
      dropped: s.dropped,
    })),
  };
  const byWorker = stopped.workers.map(
    (w) =>
      `worker ${w.worker}: ${groupDigits(w.accepted)} accepted, ${groupDigits(w.dropped)} dropped`,
  );
  const text = `stopped: ${groupDigits(stopped.accepted)} accepted, ${groupDigits(stopped.dropped)} dropped at a descriptor limit, over ${options.workers} processes (${byWorker.join('; ')})`;
  out.write(`${json ? toJson(stopped) : text}\n`);
  return end.died ? 1 : 0;
}

export const listenCommand = defineCommand({
  name: 'listen',
  summary: 'an echo listener with every socket option under control',
  description: `Listens, logs each accepted connection with its full 4-tuple, and echoes every byte back
prefixed with "TAG:" so two listeners are told apart. Runs until Ctrl-C (SIGINT) or SIGTERM,
then closes every connection. It holds connections up to its descriptor limit (RLIMIT_NOFILE,
less a reserve); one more is closed at once and logged as a drop, with the count so far.
With --workers N, N processes listen on the same ip:port with SO_REUSEPORT (the kernel spreads
the connections among them by a hash of each 4-tuple, not by how full each one is), so together
they hold N times one process's limit; each event is led by its process's index ("worker" in
--json), and a final "stopped" line gives the counts, summed and by process. If one process
dies the others are stopped and the exit code is 1.`,
  epilog: `Examples:
  fourtuple listen --host 127.0.0.1 --port 3000 --tag L
  fourtuple listen --host 127.0.0.1 --port 3000 --workers auto   # the target of max --target`,
  json: 'one JSON object per event on stdout',
  options: {
    host: { type: 'ip', default: '0.0.0.0', description: 'address to listen on, IPv4 or IPv6' },
    port: {
      type: 'int',
      min: 0,
      max: 65535,
      default: 3000,
      short: 'p',
      description: 'port; 0 lets the kernel choose',
    },
    tag: {
      type: 'string',
      placeholder: 'NAME',
      defaultText: "the listener's ip:port",
      description: 'echo prefix',
    },
    ...REUSE_OPTIONS,
    backlog: {
      type: 'int',
      min: 1,
      max: 65535,
      default: 511,
      description: 'listen() backlog, capped by the kernel at somaxconn',
    },
    ...NETNS_OPTION,
    workers: {
      type: 'int',
      min: 1,
      max: 256,
      auto: true,
      defaultText: 'none: this process listens',
      description: `listener processes sharing the port (SO_REUSEPORT); auto: enough for every ephemeral port of one client address (${ephemeralPortRange().size} here, the most max --target opens to one destination) at each process's descriptor limit, plus a quarter for the kernel's uneven spread, at least 2`,
    },
  },
  async run({ values, io, signal }) {
    const netnsPath = values['host-ns'];
    const print = (e: ListenerEvent): void => {
      io.stdout.write(`${values.json ? toJson(e) : formatListenerEvent(e)}\n`);
    };
    const options = {
      host: values.host,
      port: values.port,
      backlog: values.backlog,
      reuseaddr: values.reuseaddr,
      ...(values.tag !== undefined ? { tag: values.tag } : {}),
      ...(netnsPath ? { netnsPath } : {}),
      signal,
    };
    if (values.workers !== undefined) {
      const workers =
        values.workers === 'auto' ? autoListenerWorkers(descriptorBudget()) : values.workers;
      return listenGroup({ ...options, workers }, values.json, io.stdout);
    }
    const listener = await startListener(
      {
        ...options,
        reuseport: values.reuseport,
        // below the descriptor limit, so running out is logged ('drop') rather than silent
        maxConnections: descriptorBudget(),
      },
      print,
    );
    await listener.closed;
    return 0;
  },
});
