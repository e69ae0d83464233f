/** `fourtuple connect`: the heartbeat connector. */
import { type HeartbeatEvent, heartbeat } from '../endpoints/connector.js';
import { printable } from '../endpoints/listener.js';
import { UsageError } from '../errors.js';
import { defineCommand } from './_command.js';
import { toJson } from './_output.js';
import { NETNS_OPTION, REUSE_OPTIONS } from './_socketflags.js';
import {
  ALLOW_REMOTE_OPTION,
  resolveTargetAddresses,
  TARGET_ACCEPTS,
  targetText,
} from './_targets.js';

export function formatHeartbeatEvent(e: HeartbeatEvent): string {
  switch (e.event) {
    case 'tried':
      return `${e.remote}: ${e.error}, trying the next address`;
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

export const connectCommand = defineCommand({
  name: 'connect',
  summary: 'a connector that binds a chosen source ip:port, then sends a heartbeat',
  description: `Binds --from (port 0 or no --from: the kernel chooses), connects to --to, prints both
addresses, then sends --data every --interval and prints each echo ("Lub hi... Dub tag:hi").
A failed bind or connect prints the errno name and its meaning and exits 1. The destination
must be loopback (127.0.0.0/8, ::1), or a host of a fourtuple lab from inside that lab
(--host-ns), unless --allow-remote; a name is resolved once.`,
  epilog: `Example:
  fourtuple connect --to 127.0.0.1:3000 --from 127.0.0.1:6000 --count 2 --interval 50ms`,
  json: 'one JSON object per event on stdout',
  options: {
    to: {
      type: 'custom',
      placeholder: 'IP:PORT',
      accepts: TARGET_ACCEPTS,
      required: true,
      description: 'destination ([IPv6]:PORT for IPv6, or NAME:PORT)',
      parse: targetText,
    },
    from: {
      type: 'hostport',
      allowZero: true,
      description: 'source address to bind before connecting',
    },
    data: { type: 'string', default: 'hi', description: 'bytes sent each beat' },
    interval: {
      type: 'duration',
      minMs: 10,
      maxMs: 3_600_000,
      default: 5000,
      field: 'intervalMs',
      description: 'time between beats',
    },
    count: {
      type: 'int',
      min: 1,
      max: 1_000_000,
      defaultText: 'until Ctrl-C',
      description: 'beats to send',
    },
    ...REUSE_OPTIONS,
    'bind-no-port': {
      type: 'boolean',
      negatable: true,
      default: false,
      field: 'bindAddressNoPort',
      description: 'IP_BIND_ADDRESS_NO_PORT: with --from IP:0, pick the port at connect time',
    },
    timeout: {
      type: 'duration',
      minMs: 10,
      maxMs: 120_000,
      default: 10_000,
      field: 'timeoutMs',
      description: 'connect timeout',
    },
    ...NETNS_OPTION,
    ...ALLOW_REMOTE_OPTION,
  },
  async run({ values, io, signal }) {
    const from = values.from;
    const allowRemote = values['allow-remote'];
    const netnsPath = values['host-ns'];
    // Last, once every other flag is known good: resolve --to and apply the target policy.
    const { labAddresses, addresses, ...to } = await resolveTargetAddresses(
      'to',
      values.to,
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
        reuseaddr: values.reuseaddr,
        reuseport: values.reuseport,
        bindAddressNoPort: values['bind-no-port'],
        data: values.data,
        intervalMs: values.interval,
        timeoutMs: values.timeout,
        count: values.count ?? 0,
        ...(netnsPath ? { netnsPath } : {}),
        allowRemote,
        labAddresses,
        fallbacks: addresses.slice(1),
        signal,
      },
      print,
    );
    return 0;
  },
});
