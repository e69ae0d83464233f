/** `fourtuple connect`: the heartbeat connector. */
import { type HeartbeatEvent, heartbeat } from '../endpoints/connector.js';
import { printable } from '../endpoints/listener.js';
import { UsageError } from '../errors.js';
import { durationFlag, intFlag, parseHostPort, stringFlag } from './_args.js';
import type { Command } from './_command.js';
import { toJson } from './_output.js';
import { hostNsFlag, NETNS_OPTION, onOff } from './_socketflags.js';
import { ALLOW_REMOTE_OPTION, allowRemoteFlag, resolveTargetFlag } from './_targets.js';

export function formatHeartbeatEvent(e: HeartbeatEvent): string {
  switch (e.event) {
    case 'connected':
      return `connected ${e.local} -> ${e.remote}`;
    case 'sent':
      return `Lub ${printable(e.data)}...`;
    case 'echo':
      return `Dub ${printable(e.data)}`;
    case 'no-echo':
      return `(no echo for beat ${e.seq})`;
    case 'closed':
      return e.by === 'peer' ? 'the peer closed the connection' : 'closed';
  }
}

export const connectCommand: Command = {
  name: 'connect',
  summary: 'a connector that binds a chosen source ip:port, then sends a heartbeat',
  help: `Usage: fourtuple connect --to IP:PORT [--from IP:PORT] [--data hi] [--interval 5s] [--count N]
                         [--reuseaddr|--no-reuseaddr] [--reuseport] [--bind-no-port]
                         [--timeout 10s] [--host-ns NAME] [--allow-remote] [--json]

Binds --from (port 0 or no --from: the kernel chooses), connects to --to, prints both
addresses, then sends --data every --interval and prints each echo ("Lub hi... Dub tag:hi").
A failed bind or connect prints the errno name and its meaning and exits 1.

Options:
  --to IP:PORT       destination ([IPv6]:PORT for IPv6, or NAME:PORT, resolved once); required.
                     Loopback (127.0.0.0/8, ::1), or a host of a fourtuple lab from inside
                     that lab (--host-ns), unless --allow-remote
  --from IP:PORT     source address to bind before connecting; port 0 lets the kernel choose
  --data TEXT        bytes sent each beat (default "hi")
  --interval T       time between beats, 10ms to 1h (default 5s)
  --count N          beats to send, 1 to 1000000 (default: until Ctrl-C)
  --reuseaddr        SO_REUSEADDR on (default, as in the seed); --no-reuseaddr turns it off
  --reuseport        SO_REUSEPORT on (default off)
  --bind-no-port     IP_BIND_ADDRESS_NO_PORT: with --from IP:0, pick the port at connect time
  --timeout T        connect timeout, 10ms to 120s (default 10s)
  --host-ns NAME     create the socket inside network namespace NAME
  --allow-remote     allow a destination that is not loopback nor a lab host
  --json             one JSON object per event on stdout`,
  options: {
    to: { type: 'string' },
    from: { type: 'string' },
    data: { type: 'string' },
    interval: { type: 'string' },
    count: { type: 'string' },
    reuseaddr: { type: 'boolean' },
    reuseport: { type: 'boolean' },
    'bind-no-port': { type: 'boolean' },
    timeout: { type: 'string' },
    ...NETNS_OPTION,
    ...ALLOW_REMOTE_OPTION,
  },
  async run({ values, io, signal }) {
    const toText = stringFlag(values, 'to');
    if (toText === undefined)
      throw new UsageError('--to is required (IP:PORT, port 1 to 65535)', 'to');
    const fromText = stringFlag(values, 'from');
    const from = fromText === undefined ? undefined : parseHostPort('from', fromText, true);
    const allowRemote = allowRemoteFlag(values);
    const intervalMs = durationFlag(values, 'interval', 10, 3_600_000, 5000);
    const timeoutMs = durationFlag(values, 'timeout', 10, 120_000, 10_000);
    const count = intFlag(values, 'count', 1, 1_000_000, 0);
    const netnsPath = hostNsFlag(values);
    // Last, once every other flag is known good: resolve --to and apply the target policy.
    const { labAddresses, ...to } = await resolveTargetFlag(
      'to',
      toText,
      allowRemote,
      from?.family,
      netnsPath,
    );
    if (from && from.family !== to.family) {
      throw new UsageError('--from and --to must both be IPv4 or both IPv6', 'from');
    }
    const print = (e: HeartbeatEvent): void => {
      io.stdout.write(`${values.json ? toJson(e) : formatHeartbeatEvent(e)}\n`);
    };
    await heartbeat(
      {
        to,
        ...(from ? { from } : {}),
        reuseaddr: onOff(values, 'reuseaddr', true),
        reuseport: onOff(values, 'reuseport', false),
        bindAddressNoPort: onOff(values, 'bind-no-port', false),
        data: stringFlag(values, 'data', 'hi')!,
        intervalMs,
        timeoutMs,
        count,
        ...(netnsPath ? { netnsPath } : {}),
        allowRemote,
        labAddresses,
        signal,
      },
      print,
    );
    return 0;
  },
};
