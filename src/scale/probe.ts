import { UsageError } from '../errors.js';

/**
 * Probes: how `max` checks that a connection is alive, for servers that are not fourtuple's own
 * listeners. `echo` sends one byte and expects it back (fourtuple's listeners); `none` sends
 * nothing (alive = still open: read gives EAGAIN, no RST or FIN, TCP_INFO says ESTABLISHED);
 * `send:DATA,expect:PREFIX` sends DATA (C-style escapes) and expects a reply starting with
 * PREFIX; presets speak a little of common servers' protocols.
 *
 * And the kinds of failure a server causes, with what each usually means, so that a run can say
 * "your server gave out" apart from "your client ran out".
 */

/** A probe, as the engine runs it (plain data: it crosses the IPC channel). */
export interface Probe {
  /** as the user wrote it (or the preset's name) */
  name: string;
  kind: 'echo' | 'none' | 'send';
  /** bytes to send (latin1 text), for echo and send */
  send: string;
  /** the reply must start with these bytes (latin1) */
  expect: string;
  /**
   * the reply is complete when these bytes have been read (latin1; e.g. "\r\n\r\n" for HTTP's
   * headers); empty: complete once `expect` matched
   */
  end: string;
}

/**
 * One byte out, any bytes back: fourtuple's listeners answer with the byte (`max`'s own) or with
 * a line naming the peer (`fourtuple listen`), so the reply's content is not checked.
 */
export const ECHO_PROBE: Probe = { name: 'echo', kind: 'echo', send: 'x', expect: '', end: '' };
export const NO_PROBE: Probe = { name: 'none', kind: 'none', send: '', expect: '', end: '' };

/** Named probes for common servers. `http` takes the Host header from the first target. */
export const PROBE_PRESETS = ['echo', 'none', 'redis', 'http'] as const;

/** Decodes C-style escapes: \r \n \t \0 \\ \xHH. Throws on a bad escape. */
export function unescapeC(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = text[++i];
    if (e === undefined) throw new Error('a trailing backslash');
    const simple: Record<string, string> = {
      r: '\r',
      n: '\n',
      t: '\t',
      '0': '\0',
      '\\': '\\',
      ',': ',',
    };
    if (e in simple) out += simple[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`an unknown escape \\${e}`);
  }
  return out;
}

/**
 * A probe from its text: a preset name, or `send:DATA,expect:PREFIX` (a comma inside DATA is
 * written `\,`). `host` is the Host header of the http preset. Throws Error with the reason.
 */
export function parseProbe(text: string, host = 'localhost'): Probe {
  switch (text) {
    case 'echo':
      return ECHO_PROBE;
    case 'none':
      return NO_PROBE;
    case 'redis':
      return { name: 'redis', kind: 'send', send: 'PING\r\n', expect: '+PONG', end: '\r\n' };
    case 'http':
      return {
        name: 'http',
        kind: 'send',
        send: `HEAD / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: fourtuple\r\n\r\n`,
        expect: 'HTTP/1.',
        end: '\r\n\r\n',
      };
  }
  const m = /^send:((?:[^,\\]|\\.)*),expect:(.*)$/s.exec(text);
  if (!m) {
    throw new Error(`expected ${PROBE_PRESETS.join(', ')} or send:DATA,expect:PREFIX`);
  }
  const send = unescapeC(m[1]!);
  const expect = unescapeC(m[2]!);
  if (send.length === 0) throw new Error('send: needs at least one byte');
  if (send.length > 1024 || expect.length > 256) {
    throw new Error('send: at most 1024 bytes, expect: at most 256');
  }
  return { name: text, kind: 'send', send, expect, end: '' };
}

/** The probe a run uses: given, parsed from its text, or echo. Throws UsageError on bad text. */
export function resolveProbe(p: Probe | string | undefined, host?: string): Probe {
  if (p === undefined) return ECHO_PROBE;
  if (typeof p !== 'string') return p;
  try {
    return parseProbe(p, host);
  } catch (err) {
    throw new UsageError(`--probe ${p}: ${(err as Error).message}`, 'probe');
  }
}

/** What went wrong with one connection (or one connect), from what the kernel and bytes show. */
export type FailureKind =
  /** the SYN was answered with an RST: nothing listens, or the backlog overflowed with tcp_abort_on_overflow */
  | 'refused'
  /** the SYN was never answered (ours, --connect-timeout): the accept queue or SYN queue is full */
  | 'connect-timeout'
  /** the server accepted, then closed (FIN) at once, before anything was asked: a client cap */
  | 'closed-at-once'
  /** the server closed (FIN) later */
  | 'closed'
  /** an RST */
  | 'reset'
  /** the probe's reply did not start as expected */
  | 'wrong-reply'
  /** the probe had no answer while the peer's kernel acknowledged it */
  | 'unanswered'
  /** another error (errno in `errno`) */
  | 'error';

export interface FailureRecord {
  count: number;
  /** the first bytes the server sent before it closed (latin1, at most 128), if any */
  firstBytes?: string;
  /** the errno behind it, when there was one */
  errno?: string;
  /** ms from the start of the ramp to the first and last such failure */
  firstAtMs?: number;
  lastAtMs?: number;
}

export type FailureKinds = Partial<Record<FailureKind, FailureRecord>>;

/** Adds `from` into `into` (counts summed, the first bytes and times kept). */
export function mergeFailureKinds(into: FailureKinds, from: FailureKinds): void {
  for (const [k, v] of Object.entries(from) as [FailureKind, FailureRecord][]) {
    const cur = into[k];
    if (!cur) {
      into[k] = { ...v };
      continue;
    }
    cur.count += v.count;
    cur.firstBytes ??= v.firstBytes;
    cur.errno ??= v.errno;
    if (v.firstAtMs !== undefined) {
      cur.firstAtMs = Math.min(cur.firstAtMs ?? v.firstAtMs, v.firstAtMs);
    }
    if (v.lastAtMs !== undefined) cur.lastAtMs = Math.max(cur.lastAtMs ?? v.lastAtMs, v.lastAtMs);
  }
}

/** Bytes as a reader sees them: printable ASCII, the rest escaped (\r, \n, \xHH). */
export function showBytes(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Known servers' words when they refuse a client: the bytes, and what limit they mean. */
const KNOWN_CAPS: { match: RegExp; means: string }[] = [
  {
    match: /max number of clients reached/i,
    means: 'Redis `maxclients`, default 10000, lowered to its RLIMIT_NOFILE minus 32',
  },
  {
    match: /too many open connections/i,
    means: 'memcached `-c`, max simultaneous connections, default 1024',
  },
  { match: /too many connections/i, means: "the server's connection limit" },
];

/** What a server failure usually means, in words, for the summary. */
export function serverWallWords(
  kind: FailureKind,
  rec: FailureRecord,
  heldAt: number,
  backlog?: { somaxconn?: number },
): string {
  const at = heldAt.toLocaleString('en-US');
  switch (kind) {
    case 'closed-at-once': {
      if (rec.firstBytes) {
        const known = KNOWN_CAPS.find((k) => k.match.test(rec.firstBytes!));
        return `the server stopped accepting at ${at} connections: it answered \`${showBytes(rec.firstBytes.trim())}\` and closed (${known?.means ?? "the server's client cap"})`;
      }
      return `the server stopped accepting at ${at} connections: it accepted and closed at once without a word (a client cap: nginx \`worker_connections\`, or the server's RLIMIT_NOFILE)`;
    }
    case 'connect-timeout':
      return `the server stopped answering SYNs at ${at} connections: connects timed out, its accept queue (listen backlog, capped by net.core.somaxconn${backlog?.somaxconn !== undefined ? ` = ${backlog.somaxconn}` : ''}) is full and it is not accepting`;
    case 'refused':
      return `the server refused connections at ${at}: the SYN was answered with an RST (nothing listens there, or its backlog overflowed with net.ipv4.tcp_abort_on_overflow = 1)`;
    case 'reset':
      return `the server reset connections after ${at} were held (it dropped them: a timeout, a cap or a crash)`;
    case 'closed':
      return `the server closed connections after ${at} were held (an idle timeout, or a cap enforced later)`;
    case 'wrong-reply':
      return `the server answered the probe with something else${rec.firstBytes ? `: \`${showBytes(rec.firstBytes.trim())}\`` : ''} (a wrong --probe, or the server refusing work)`;
    case 'unanswered':
      return `the server did not answer the probe on ${rec.count.toLocaleString('en-US')} connections whose kernel was alive (a stalled or overloaded server)`;
    default:
      return `connections failed with ${rec.errno ?? 'an error'}`;
  }
}
