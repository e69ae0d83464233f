/**
 * `fourtuple listen`, `connect` and `errno` as a user runs them: the built CLI in child
 * processes, on loopback, and against an independent peer (Debian's socat) in both roles.
 */
import { spawnSync } from 'node:child_process';
import type net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OpenConnection, openConnection } from '../../src/endpoints/connector.js';
import { type Child, killAll, spawnChild, spawnCli } from '../helpers/child.js';
import { BIN, cliProcess } from '../helpers/cli.js';
import { freePortBlock } from '../helpers/ports.js';

const raws: OpenConnection['socket'][] = [];
const nets: net.Socket[] = [];

beforeAll(() => {
  expect(spawnSync(process.execPath, [BIN, '--version']).status, 'run `npm run build` first').toBe(
    0,
  );
});

afterEach(async () => {
  for (const s of nets.splice(0)) s.resetAndDestroy();
  for (const s of raws.splice(0)) s.closeReset();
  await killAll();
});

type Ev = Record<string, unknown>;
const ofKind = (c: Child, kind: string): Ev[] => c.events().filter((e) => e.event === kind);

async function listenCli(host: string, port: number, ...extra: string[]): Promise<Child> {
  const l = spawnCli(['listen', '--host', host, '--port', String(port), '--json', ...extra]);
  await l.waitFor((line) => line.includes('"listening"'));
  return l;
}

function waitCount(c: Child, kind: string, n: number, timeoutMs = 30_000): Promise<string> {
  return c.waitFor(() => ofKind(c, kind).length >= n, timeoutMs);
}

function socatAvailable(): boolean {
  return spawnSync('socat', ['-V']).status === 0;
}

describe('fourtuple listen + connect', () => {
  it('connect --json --count 2 --interval 50ms gets two tagged echoes and the listener logs the 4-tuple', async () => {
    const base = freePortBlock(2);
    const l = await listenCli('127.0.0.1', base + 1, '--tag', 'L');
    expect(l.events()[0]).toEqual({ event: 'listening', local: `127.0.0.1:${base + 1}`, tag: 'L' });
    const c = spawnCli([
      'connect',
      '--to',
      `127.0.0.1:${base + 1}`,
      '--from',
      `127.0.0.1:${base}`,
      '--json',
      '--count',
      '2',
      '--interval',
      '50ms',
    ]);
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(c.stderr()).toBe('');
    expect(c.events()).toEqual([
      { event: 'connected', local: `127.0.0.1:${base}`, remote: `127.0.0.1:${base + 1}` },
      { event: 'sent', seq: 1, data: 'hi' },
      { event: 'echo', seq: 1, data: 'L:hi' },
      { event: 'sent', seq: 2, data: 'hi' },
      { event: 'echo', seq: 2, data: 'L:hi' },
      { event: 'closed', by: 'us' },
    ]);
    await waitCount(l, 'close', 1);
    const tuple = { local: `127.0.0.1:${base + 1}`, remote: `127.0.0.1:${base}` };
    expect(ofKind(l, 'accept')).toEqual([{ event: 'accept', ...tuple }]);
    expect(ofKind(l, 'data').reduce((n, e) => n + (e.bytes as number), 0)).toBe(4);
    expect(ofKind(l, 'close')).toEqual([
      // the connector closes with an RST, so the listener sees ECONNRESET
      { event: 'close', ...tuple, bytesIn: 4, bytesOut: 8, error: 'ECONNRESET' },
    ]);
  });

  it('prints human lines without --json ("Lub hi... Dub tag:hi")', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('127.0.0.1', port, '--tag', 'T');
    const c = cliProcess(['connect', '--to', `127.0.0.1:${port}`, '--count', '1', '--data', 'yo']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(
      new RegExp(
        `^connected 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port}\\nLub yo\\.\\.\\.\\nDub T:yo\\nclosed\\n$`,
      ),
    );
    l.proc.kill('SIGINT');
    await l.exited;
    expect(l.lines[0]).toBe(`{"event":"listening","local":"127.0.0.1:${port}","tag":"T"}`);
  });

  it('two CLI connectors sharing --from reach listeners on 127.0.0.1:P and 127.0.0.2:P at the same time', async () => {
    const base = freePortBlock(2);
    const l1 = await listenCli('127.0.0.1', base + 1, '--tag', 'one');
    const l2 = await listenCli('127.0.0.2', base + 1, '--tag', 'two');
    const args = (to: string) => [
      'connect',
      '--to',
      to,
      '--from',
      `127.0.0.1:${base}`,
      '--json',
      '--count',
      '12',
      '--interval',
      '500ms',
    ];
    const c1 = spawnCli(args(`127.0.0.1:${base + 1}`));
    const c2 = spawnCli(args(`127.0.0.2:${base + 1}`));
    // Both are connected at once before either finishes (each lives 6 s: beside a max run of
    // 200,000 connections, process start-up put one more than 2.4 s behind the other).
    await Promise.all([waitCount(c1, 'echo', 1), waitCount(c2, 'echo', 1)]);
    expect(ofKind(c1, 'closed')).toEqual([]);
    expect(ofKind(c2, 'closed')).toEqual([]);
    expect((await c1.exited).code).toBe(0);
    expect((await c2.exited).code).toBe(0);
    expect(ofKind(c1, 'echo').map((e) => e.data)).toEqual(Array(12).fill('one:hi'));
    expect(ofKind(c2, 'echo').map((e) => e.data)).toEqual(Array(12).fill('two:hi'));
    expect(ofKind(l1, 'accept')).toEqual([
      { event: 'accept', local: `127.0.0.1:${base + 1}`, remote: `127.0.0.1:${base}` },
    ]);
    expect(ofKind(l2, 'accept')).toEqual([
      { event: 'accept', local: `127.0.0.2:${base + 1}`, remote: `127.0.0.1:${base}` },
    ]);
  });

  it('connect --no-reuseaddr fails with EADDRINUSE when another socket holds the source ip:port, and exits 1', async () => {
    const base = freePortBlock(2);
    await listenCli('127.0.0.1', base + 1);
    const held = await openConnection({
      from: { host: '127.0.0.1', port: base },
      to: { host: '127.0.0.1', port: base + 1 },
      reuseaddr: false,
    });
    raws.push(held.socket);
    const c = cliProcess([
      'connect',
      '--to',
      `127.0.0.1:${base + 1}`,
      '--from',
      `127.0.0.1:${base}`,
      '--no-reuseaddr',
      '--count',
      '1',
    ]);
    expect(c.code).toBe(1);
    expect(c.stdout).toBe('');
    expect(c.stderr).toBe(
      `fourtuple connect: error: bind EADDRINUSE 127.0.0.1:${base} (another socket already holds this local address and port (set SO_REUSEADDR, or SO_REUSEPORT on both))\n`,
    );
  });

  it('a second connect from the same --from to the same --to exits 1 with EADDRNOTAVAIL', async () => {
    const base = freePortBlock(2);
    await listenCli('127.0.0.1', base + 1);
    const held = await openConnection({
      from: { host: '127.0.0.1', port: base },
      to: { host: '127.0.0.1', port: base + 1 },
      reuseaddr: true,
    });
    raws.push(held.socket);
    const d = cliProcess([
      'connect',
      '--to',
      `127.0.0.1:${base + 1}`,
      '--from',
      `127.0.0.1:${base}`,
      '--count',
      '1',
    ]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(
      new RegExp(
        `^fourtuple connect: error: connect EADDRNOTAVAIL 127\\.0\\.0\\.1:${base + 1} \\(.+4-tuple.+\\)\\n$`,
      ),
    );
  });

  it('connect --to localhost:P resolves the name once, checks it is loopback, and connects', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('127.0.0.1', port, '--tag', 'name');
    const c = cliProcess([
      'connect',
      '--to',
      `localhost:${port}`,
      '--from',
      '127.0.0.1:0',
      '--count',
      '1',
      '--json',
    ]);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`"remote":"127.0.0.1:${port}"`);
    expect(c.stdout).toContain('"data":"name:hi"');
    l.proc.kill('SIGINT');
    await l.exited;
  });

  it('connect to a closed port exits 1 with ECONNREFUSED and its meaning', () => {
    const port = freePortBlock(1);
    const c = cliProcess(['connect', '--to', `127.0.0.1:${port}`, '--count', '1']);
    expect(c.code).toBe(1);
    expect(c.stdout).toBe('');
    expect(c.stderr).toBe(
      `fourtuple connect: error: connect ECONNREFUSED 127.0.0.1:${port} (nothing is listening on that address and port (the peer answered with an RST))\n`,
    );
  });

  it('works over IPv6: listen --host ::1 and connect --to [::1]:P', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('::1', port, '--tag', 'v6');
    const c = cliProcess([
      'connect',
      '--to',
      `[::1]:${port}`,
      '--from',
      '[::1]:0',
      '--json',
      '--count',
      '1',
    ]);
    expect(c.code).toBe(0);
    const events = c.stdout
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x) as Ev);
    expect(events[0]).toMatchObject({ event: 'connected', remote: `[::1]:${port}` });
    expect(events[2]).toEqual({ event: 'echo', seq: 1, data: 'v6:hi' });
    await waitCount(l, 'accept', 1);
    expect(ofKind(l, 'accept')[0]).toMatchObject({ local: `[::1]:${port}` });
  });

  it('SIGINT to a listener exits 130 and closes its connections', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('127.0.0.1', port);
    const peers: Promise<string>[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await openConnection({ to: { host: '127.0.0.1', port } });
      const s = c.socket.toNetSocket();
      nets.push(s);
      peers.push(
        new Promise<string>((resolve) => {
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
          s.on('end', () => resolve('end'));
          s.on('close', () => resolve('close'));
        }),
      );
    }
    await waitCount(l, 'accept', 3);
    l.proc.kill('SIGINT');
    const ex = await l.exited;
    expect(ex).toEqual({ code: 130, signal: null });
    expect(ofKind(l, 'close')).toHaveLength(3);
    // every peer sees its connection end (the listener resets them)
    expect(await Promise.all(peers)).toEqual(['ECONNRESET', 'ECONNRESET', 'ECONNRESET']);
    expect(l.stderr()).toBe('');
  });

  it('SIGTERM to a listener exits 143; SIGINT to a connector mid-heartbeat exits 130', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('127.0.0.1', port);
    const c = spawnCli(['connect', '--to', `127.0.0.1:${port}`, '--json', '--interval', '1h']);
    await waitCount(c, 'echo', 1);
    c.proc.kill('SIGINT');
    expect(await c.exited).toEqual({ code: 130, signal: null });
    expect(ofKind(c, 'closed')).toEqual([{ event: 'closed', by: 'us' }]);
    await waitCount(l, 'close', 1);
    l.proc.kill('SIGTERM');
    expect(await l.exited).toEqual({ code: 143, signal: null });
  });

  it('a connector whose listener goes away reports that the peer closed', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('127.0.0.1', port);
    const c = spawnCli(['connect', '--to', `127.0.0.1:${port}`, '--json', '--interval', '100ms']);
    await waitCount(c, 'echo', 1);
    l.proc.kill('SIGINT');
    await l.exited;
    expect((await c.exited).code).toBe(0);
    expect(ofKind(c, 'closed')).toEqual([{ event: 'closed', by: 'peer' }]);
  });

  it('listen --port 0 lets the kernel choose, and reports the port it chose', async () => {
    const l = spawnCli(['listen', '--host', '127.0.0.1', '--port', '0', '--json']);
    await l.waitFor((line) => line.includes('"listening"'));
    const local = String(l.events()[0]!.local);
    const port = Number(local.split(':')[1]);
    expect(local).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(port).toBeGreaterThan(0);
    const c = cliProcess(['connect', '--to', local, '--count', '1', '--json']);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`"data":"${local}:hi"`);
  });

  it('listen on a port another listener holds exits 1 with EADDRINUSE', async () => {
    const port = freePortBlock(1);
    await listenCli('127.0.0.1', port);
    const r = cliProcess(['listen', '--host', '127.0.0.1', '--port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^fourtuple listen: error: bind EADDRINUSE 127\\.0\\.0\\.1:${port} \\(.+\\)\\n$`),
    );
  });
});

describe('bad input exits 2 with one line naming the flag', () => {
  it.each([
    [
      ['connect', '--to', '127.0.0.1:70000'],
      /--to must be IP:PORT, \[IPv6\]:PORT or NAME:PORT with a port from 1 to 65535 \(got 70000\)/,
    ],
    [
      ['connect', '--to', 'not_a_host:80'],
      /--to .*"not_a_host" is not an IP address or a host name/,
    ],
    [['connect', '--to', '127.0.0.1:0'], /--to .* from 1 to 65535/],
    [['connect'], /--to is required/],
    [
      ['connect', '--to', '127.0.0.1:80', '--from', '[::1]:0'],
      /--from and --to must both be IPv4 or both IPv6/,
    ],
    [
      ['connect', '--to', '127.0.0.1:80', '--interval', '0s'],
      /--interval must be a duration from 10ms/,
    ],
    [
      ['connect', '--to', '127.0.0.1:80', '--count', '-1'],
      /--count must be an integer from 1 to 1000000/,
    ],
    [['connect', '--to', '127.0.0.1:80', '--timeout', 'soon'], /--timeout must be a duration/],
    [['listen', '--port', '-1'], /--port must be an integer from 0 to 65535 \(got -1\)/],
    [['listen', '--port', '65536'], /--port must be an integer from 0 to 65535 \(got 65536\)/],
    [['listen', '--port', '80x'], /--port must be an integer from 0 to 65535 \(got "80x"\)/],
    [['listen', '--host', 'example.com'], /--host must be an IPv4 or IPv6 address/],
    [['listen', '--backlog', '0'], /--backlog must be an integer from 1 to 65535/],
    [['listen', '--bogus'], /unknown option --bogus/],
    [['errno'], /give an errno name or number/],
    // user text quoted back stays one printable line (the fuzz test found a bare newline)
    [['tour', '\n'], /unexpected argument "\\n"/],
    [['theory', '--machines', '3\x1b[2J', '--ports', '3'], /\(got "3\\x1b\[2J"\)/],
  ])('fourtuple %j', (argv, message) => {
    const r = cliProcess(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('fourtuple errno', () => {
  it('answers every name or number given, the unknown ones as unknown, and exits 2 when one is', () => {
    const r = cliProcess(['errno', 'ECONNREFUSED', '110', 'emfile', '0', 'ENOTATHING']);
    expect(r.code).toBe(2);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ECONNREFUSED \(111\): nothing is listening/),
      expect.stringMatching(/^ETIMEDOUT \(110\): /),
      expect.stringMatching(/^EMFILE \(24\): /),
      '0: unknown errno',
      'ENOTATHING: unknown errno',
    ]);
    expect(r.stderr).toMatch(/^fourtuple errno: unknown: 0, ENOTATHING \(give a name like/);
  });

  it('a failure under --json is also a JSON object on stdout, for scripts that read stdout', () => {
    const r = cliProcess(['theory', '--machines', '0', '--ports', '3', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'FOURTUPLE_USAGE',
        message: '--machines must be an integer from 1 to 10^40 (got 0)',
        exitCode: 2,
      },
    });
    expect(r.stderr).toMatch(/--machines must be/);
  });

  it('`fourtuple errno 98` prints EADDRINUSE and its meaning', () => {
    const r = cliProcess(['errno', '98']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'EADDRINUSE (98): another socket already holds this local address and port (set SO_REUSEADDR, or SO_REUSEPORT on both)\n',
    );
  });

  it('takes names in any case, several at once, and --json', () => {
    const r = cliProcess(['errno', 'eaddrnotavail', '111', '--json']);
    expect(r.code).toBe(0);
    const infos = JSON.parse(r.stdout) as Ev[];
    expect(infos.map((i) => [i.name, i.number, i.known])).toEqual([
      ['EADDRNOTAVAIL', 99, true],
      ['ECONNREFUSED', 111, true],
    ]);
  });
});

describe.runIf(socatAvailable())('interoperability with socat (an independent TCP peer)', () => {
  it('socat as a client of our listener gets the tagged echo', async () => {
    const port = freePortBlock(1);
    const l = await listenCli('127.0.0.1', port, '--tag', 'ours');
    const s = spawnChild('socat', ['-t', '2', '-', `TCP:127.0.0.1:${port}`]);
    s.proc.stdin!.end('hello socat\n');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.lines).toEqual(['ours:hello socat']);
    await waitCount(l, 'close', 1);
    const [accept] = ofKind(l, 'accept');
    const [close] = ofKind(l, 'close');
    expect(accept).toMatchObject({ local: `127.0.0.1:${port}` });
    // socat half-closes after stdin ends; the listener finishes the echo, then closes cleanly
    expect(close).toMatchObject({ bytesIn: 12, bytesOut: 17 });
    expect(close!.error).toBeUndefined();
  });

  it('socat over IPv6 as a client of our listener', async () => {
    const port = freePortBlock(1);
    await listenCli('::1', port, '--tag', 'six');
    const s = spawnChild('socat', ['-t', '2', '-', `TCP6:[::1]:${port}`]);
    s.proc.stdin!.end('x\n');
    expect((await s.exited).code).toBe(0);
    expect(s.lines).toEqual(['six:x']);
  });

  it('socat as a listener for our connector: the connector gets the echo', async () => {
    const base = freePortBlock(2);
    const s = spawnChild(
      'socat',
      ['-d', '-d', `TCP-LISTEN:${base + 1},bind=127.0.0.1,reuseaddr,fork`, 'EXEC:cat'],
      { detached: true },
    );
    await s.waitFor((err) => /listening on/.test(err), 30_000, 'stderr');
    const c = spawnCli([
      'connect',
      '--to',
      `127.0.0.1:${base + 1}`,
      '--from',
      `127.0.0.1:${base}`,
      '--json',
      '--count',
      '2',
      '--interval',
      '50ms',
      '--data',
      'ping',
    ]);
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(c.events()).toEqual([
      { event: 'connected', local: `127.0.0.1:${base}`, remote: `127.0.0.1:${base + 1}` },
      { event: 'sent', seq: 1, data: 'ping' },
      { event: 'echo', seq: 1, data: 'ping' },
      { event: 'sent', seq: 2, data: 'ping' },
      { event: 'echo', seq: 2, data: 'ping' },
      { event: 'closed', by: 'us' },
    ]);
    // socat saw our chosen source address
    expect(s.stderr()).toContain(`accepting connection from AF=2 127.0.0.1:${base}`);
  });

  it('our raw socket (SO_REUSEADDR off) connects to socat and reads its echo', async () => {
    const port = freePortBlock(1);
    const s = spawnChild(
      'socat',
      ['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, 'PIPE'],
      {
        detached: true,
      },
    );
    await s.waitFor((err) => /listening on/.test(err), 30_000, 'stderr');
    const c = await openConnection({
      to: { host: '127.0.0.1', port },
      reuseaddr: false,
      nodelay: true,
    });
    const sock = c.socket.toNetSocket();
    nets.push(sock);
    const got = await new Promise<string>((resolve) => {
      sock.once('data', (d: Buffer) => resolve(d.toString()));
      sock.write('raw');
    });
    expect(got).toBe('raw');
  });
});
