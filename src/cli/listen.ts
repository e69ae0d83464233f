/** `fourtuple listen`: the echo listener. */
import { descriptorBudget, type ListenerEvent, startListener } from '../endpoints/listener.js';
import { errnoMeaning } from '../sockets/errno.js';
import { defineCommand } from './_command.js';
import { toJson } from './_output.js';
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

export const listenCommand = defineCommand({
  name: 'listen',
  summary: 'an echo listener with every socket option under control',
  description: `Listens, logs each accepted connection with its full 4-tuple, and echoes every byte back
prefixed with "TAG:" so two listeners are told apart. Runs until Ctrl-C (SIGINT) or SIGTERM,
then closes every connection. It holds connections up to its descriptor limit (RLIMIT_NOFILE,
less a reserve); one more is closed at once and logged as a drop, with the count so far.`,
  epilog: `Example:
  fourtuple listen --host 127.0.0.1 --port 3000 --tag L`,
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
  },
  async run({ values, io, signal }) {
    const netnsPath = values['host-ns'];
    const print = (e: ListenerEvent): void => {
      io.stdout.write(`${values.json ? toJson(e) : formatListenerEvent(e)}\n`);
    };
    const listener = await startListener(
      {
        host: values.host,
        port: values.port,
        backlog: values.backlog,
        reuseaddr: values.reuseaddr,
        reuseport: values.reuseport,
        ...(values.tag !== undefined ? { tag: values.tag } : {}),
        ...(netnsPath ? { netnsPath } : {}),
        // below the descriptor limit, so running out is logged ('drop') rather than silent
        maxConnections: descriptorBudget(),
        signal,
      },
      print,
    );
    await listener.closed;
    return 0;
  },
});
