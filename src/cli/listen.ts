/** `fourtuple listen`: the echo listener. */
import { type ListenerEvent, startListener } from '../endpoints/listener.js';
import { errnoMeaning } from '../sockets/errno.js';
import { intFlag, parseIp, stringFlag } from './_args.js';
import type { Command } from './_command.js';
import { toJson } from './_output.js';
import { hostNsFlag, NETNS_OPTION, onOff } from './_socketflags.js';

export function formatListenerEvent(e: ListenerEvent): string {
  switch (e.event) {
    case 'listening':
      return `listening on ${e.local} (tag "${e.tag}"); Ctrl-C to stop`;
    case 'accept':
      return `accept ${e.local} <- ${e.remote}`;
    case 'data':
      return `data   ${e.local} <- ${e.remote}: ${e.bytes} bytes "${e.text}"`;
    case 'error':
      return `error  ${e.local}: ${e.syscall} ${e.error} (${errnoMeaning(e.error)}); still listening`;
    case 'close':
      return `close  ${e.local} <- ${e.remote}: in ${e.bytesIn} B, out ${e.bytesOut} B${e.error ? ` (${e.error})` : ''}`;
  }
}

export const listenCommand: Command = {
  name: 'listen',
  summary: 'an echo listener with every socket option under control',
  help: `Usage: fourtuple listen [--host 0.0.0.0] [--port 3000] [--tag NAME] [--reuseaddr|--no-reuseaddr]
                        [--reuseport] [--backlog N] [--host-ns NAME] [--json]

Listens, logs each accepted connection with its full 4-tuple, and echoes every byte back
prefixed with "TAG:" so two listeners are told apart. Runs until Ctrl-C (SIGINT) or SIGTERM,
then closes every connection.

Options:
  --host IP          address to listen on, IPv4 or IPv6 (default 0.0.0.0)
  --port P           port, 0 to 65535 (default 3000; 0 lets the kernel choose)
  --tag NAME         echo prefix (default: the listener's ip:port)
  --reuseaddr        SO_REUSEADDR on (default); --no-reuseaddr turns it off
  --reuseport        SO_REUSEPORT on (default off)
  --backlog N        listen() backlog, 1 to 65535 (default 511; the kernel caps it at somaxconn)
  --host-ns NAME     create the socket inside network namespace NAME (see \`fourtuple hosts\`)
  --json             one JSON object per event on stdout`,
  options: {
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    tag: { type: 'string' },
    reuseaddr: { type: 'boolean' },
    reuseport: { type: 'boolean' },
    backlog: { type: 'string' },
    ...NETNS_OPTION,
  },
  async run({ values, io, signal }) {
    const host = parseIp('host', stringFlag(values, 'host', '0.0.0.0')!).host;
    const port = intFlag(values, 'port', 0, 65535, 3000);
    const backlog = intFlag(values, 'backlog', 1, 65535, 511);
    const tag = stringFlag(values, 'tag');
    const netnsPath = hostNsFlag(values);
    const print = (e: ListenerEvent): void => {
      io.stdout.write(`${values.json ? toJson(e) : formatListenerEvent(e)}\n`);
    };
    const listener = await startListener(
      {
        host,
        port,
        backlog,
        reuseaddr: onOff(values, 'reuseaddr', true),
        reuseport: onOff(values, 'reuseport', false),
        ...(tag !== undefined ? { tag } : {}),
        ...(netnsPath ? { netnsPath } : {}),
        signal,
      },
      print,
    );
    await listener.closed;
    return 0;
  },
};
