/**
 * The socket layer against the real kernel, on loopback only: every option, the classic
 * four-tuple experiments, and the errors the kernel gives, by name. Ports are found free at run
 * time (test/helpers/ports.ts); everything is closed with an RST so no TIME_WAIT is left.
 */
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type HeartbeatEvent, heartbeat, openConnection } from '../../src/endpoints/connector.js';
import { type Listener, startListener } from '../../src/endpoints/listener.js';
import { SyscallError } from '../../src/errors.js';
import { formatSockAddr, pendingWaits, RawSocket } from '../../src/sockets/index.js';
import { freePortBlock } from '../helpers/ports.js';

const raws: RawSocket[] = [];
const nets: net.Socket[] = [];
const listeners: Listener[] = [];

function track<T extends RawSocket>(s: T): T {
  raws.push(s);
  return s;
}

afterEach(async () => {
  for (const s of nets.splice(0)) s.resetAndDestroy();
  for (const s of raws.splice(0)) s.closeReset();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  expect(pendingWaits()).toBe(0);
});

async function listen(host: string, port: number, tag: string): Promise<Listener> {
  const l = await startListener({ host, port, tag });
  listeners.push(l);
  return l;
}

/** Writes `data` and resolves with everything read until `expectedLength` bytes arrived. */
async function echo(sock: net.Socket, data: string, expectedLength: number): Promise<string> {
  let got = '';
  const done = new Promise<string>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      got += c.toString('utf8');
      if (got.length >= expectedLength) {
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.once('end', () => resolve(got));
  });
  sock.write(data);
  return done;
}

/** Expects `p` to reject with a SyscallError of this syscall and errno name. */
async function expectErrno(p: Promise<unknown> | (() => unknown), syscall: string, code: string) {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SyscallError);
  expect((err as SyscallError).syscall).toBe(syscall);
  expect((err as SyscallError).code).toBe(code);
  return err as SyscallError;
}

describe('socket options', () => {
  it.each([4, 6] as const)(
    'every option can be turned on and off and read back (IPv%i)',
    (family) => {
      const s = track(RawSocket.create(family));
      const on = {
        reuseaddr: true,
        reuseport: true,
        bindAddressNoPort: true,
        nodelay: true,
        linger: { on: true, seconds: 7 },
        ...(family === 6 ? { v6only: true } : {}),
      };
      s.setOptions(on);
      expect(s.getOptions()).toEqual({ v6only: false, ...on });
      const off = {
        reuseaddr: false,
        reuseport: false,
        bindAddressNoPort: false,
        nodelay: false,
        linger: { on: false, seconds: 0 },
        ...(family === 6 ? { v6only: false } : {}),
      };
      s.setOptions(off);
      // Linux keeps l_linger when l_onoff is turned off; only `on` says whether it applies.
      expect(s.getOptions()).toEqual({ v6only: false, ...off, linger: { on: false, seconds: 7 } });
    },
  );

  it('create() applies options before anything else, and leaves unnamed options at their default', () => {
    const s = track(RawSocket.create(4, { reuseport: true }));
    expect(s.getOptions()).toMatchObject({ reuseaddr: false, reuseport: true, nodelay: false });
  });

  it('SO_LINGER {on, 0} is what closeReset sets before close', () => {
    const s = track(RawSocket.create(4));
    s.setOptions({ linger: { on: true, seconds: 0 } });
    expect(s.getOptions().linger).toEqual({ on: true, seconds: 0 });
    s.closeReset();
    expect(s.isOpen).toBe(false);
  });

  it('IP_BIND_ADDRESS_NO_PORT leaves the port unchosen after bind(ip, 0) until connect', async () => {
    const base = freePortBlock(1);
    await listen('127.0.0.1', base, 'np');
    const s = track(RawSocket.create(4, { bindAddressNoPort: true }));
    s.bind('127.0.0.1', 0);
    expect(s.localAddress().port).toBe(0);
    await s.connect('127.0.0.1', base);
    expect(s.localAddress().port).toBeGreaterThan(0);
  });

  it('the listen backlog is the one given (listen(0) queues one connection; the next SYN waits)', async () => {
    const port = freePortBlock(1);
    const l = track(RawSocket.create(4, { reuseaddr: true }));
    l.bind('127.0.0.1', port);
    l.listen(0);
    const first = track(RawSocket.create(4));
    await first.connect('127.0.0.1', port, { timeoutMs: 2000 });
    const second = track(RawSocket.create(4));
    await expectErrno(
      second.connect('127.0.0.1', port, { timeoutMs: 150 }),
      'connect',
      'ETIMEDOUT',
    );
  });
});

describe('one source ip:port, many destinations', () => {
  it('two connectors sharing one source ip:port reach listeners on 127.0.0.1:P1 and 127.0.0.1:P2 at the same time, each echoed by its own listener', async () => {
    const base = freePortBlock(3);
    const src = { host: '127.0.0.1', port: base };
    await listen('127.0.0.1', base + 1, 'P1');
    await listen('127.0.0.1', base + 2, 'P2');
    const a = await openConnection({
      from: src,
      to: { host: '127.0.0.1', port: base + 1 },
      reuseaddr: true,
    });
    const b = await openConnection({
      from: src,
      to: { host: '127.0.0.1', port: base + 2 },
      reuseaddr: true,
    });
    track(a.socket);
    track(b.socket);
    expect(formatSockAddr(a.local)).toBe(`127.0.0.1:${base}`);
    expect(formatSockAddr(b.local)).toBe(`127.0.0.1:${base}`);
    expect(formatSockAddr(a.remote)).toBe(`127.0.0.1:${base + 1}`);
    expect(formatSockAddr(b.remote)).toBe(`127.0.0.1:${base + 2}`);
    const sa = a.socket.toNetSocket();
    const sb = b.socket.toNetSocket();
    nets.push(sa, sb);
    const [ea, eb] = await Promise.all([echo(sa, 'hi', 5), echo(sb, 'hi', 5)]);
    expect(ea).toBe('P1:hi');
    expect(eb).toBe('P2:hi');
  });

  it('two heartbeats from one source ip:port to listeners on 127.0.0.1:P and 127.0.0.2:P run side by side, each echoed by its own listener', async () => {
    const base = freePortBlock(2);
    const src = { host: '127.0.0.1', port: base };
    const l1 = await listen('127.0.0.1', base + 1, 'one');
    const l2 = await listen('127.0.0.2', base + 1, 'two');
    const events: Record<string, HeartbeatEvent[]> = { one: [], two: [] };
    const beat = (host: string, name: string) =>
      heartbeat(
        {
          from: src,
          to: { host, port: base + 1 },
          reuseaddr: true,
          count: 3,
          intervalMs: 20,
          data: 'hi',
        },
        (e) => events[name]!.push(e),
      );
    const [r1, r2] = await Promise.all([beat('127.0.0.1', 'one'), beat('127.0.0.2', 'two')]);
    expect(r1).toEqual({
      local: `127.0.0.1:${base}`,
      remote: `127.0.0.1:${base + 1}`,
      sent: 3,
      echoed: 3,
      closedBy: 'us',
    });
    expect(r2).toEqual({
      local: `127.0.0.1:${base}`,
      remote: `127.0.0.2:${base + 1}`,
      sent: 3,
      echoed: 3,
      closedBy: 'us',
    });
    expect(
      events.one!.filter((e) => e.event === 'echo').map((e) => (e as { data: string }).data),
    ).toEqual(['one:hi', 'one:hi', 'one:hi']);
    expect(
      events.two!.filter((e) => e.event === 'echo').map((e) => (e as { data: string }).data),
    ).toEqual(['two:hi', 'two:hi', 'two:hi']);
    expect(events.one![0]).toEqual({
      event: 'connected',
      local: `127.0.0.1:${base}`,
      remote: `127.0.0.1:${base + 1}`,
    });
    expect(events.one!.at(-1)).toEqual({ event: 'closed', by: 'us' });
    expect(l1.stats.accepted).toBe(1);
    expect(l2.stats.accepted).toBe(1);
  });

  it('with SO_REUSEADDR off, the second connector bind to the same source ip:port fails with EADDRINUSE', async () => {
    const base = freePortBlock(3);
    const src = { host: '127.0.0.1', port: base };
    await listen('127.0.0.1', base + 1, 'P1');
    await listen('127.0.0.1', base + 2, 'P2');
    const a = await openConnection({
      from: src,
      to: { host: '127.0.0.1', port: base + 1 },
      reuseaddr: false,
    });
    track(a.socket);
    const err = await expectErrno(
      openConnection({ from: src, to: { host: '127.0.0.1', port: base + 2 }, reuseaddr: false }),
      'bind',
      'EADDRINUSE',
    );
    expect(err.message).toMatch(
      new RegExp(`^bind EADDRINUSE 127\\.0\\.0\\.1:${base} \\(another socket`),
    );
  });

  it('SO_REUSEADDR on one side only is not enough: the second bind still fails with EADDRINUSE', async () => {
    const base = freePortBlock(3);
    const src = { host: '127.0.0.1', port: base };
    await listen('127.0.0.1', base + 1, 'P1');
    const a = await openConnection({
      from: src,
      to: { host: '127.0.0.1', port: base + 1 },
      reuseaddr: false,
    });
    track(a.socket);
    const s = track(RawSocket.create(4, { reuseaddr: true }));
    await expectErrno(() => s.bind('127.0.0.1', base), 'bind', 'EADDRINUSE');
  });

  it('SO_REUSEPORT on both sockets lets them share the source ip:port without SO_REUSEADDR', async () => {
    const base = freePortBlock(3);
    const src = { host: '127.0.0.1', port: base };
    await listen('127.0.0.1', base + 1, 'P1');
    await listen('127.0.0.1', base + 2, 'P2');
    const opts = { from: src, reuseaddr: false, reuseport: true };
    const a = await openConnection({ ...opts, to: { host: '127.0.0.1', port: base + 1 } });
    track(a.socket);
    const b = await openConnection({ ...opts, to: { host: '127.0.0.1', port: base + 2 } });
    track(b.socket);
    expect(b.local.port).toBe(base);
  });

  it('a second connect from the same source to the same destination fails with EADDRNOTAVAIL', async () => {
    const base = freePortBlock(2);
    const src = { host: '127.0.0.1', port: base };
    const to = { host: '127.0.0.1', port: base + 1 };
    await listen('127.0.0.1', base + 1, 'P1');
    const a = await openConnection({ from: src, to, reuseaddr: true });
    track(a.socket);
    const err = await expectErrno(
      openConnection({ from: src, to, reuseaddr: true }),
      'connect',
      'EADDRNOTAVAIL',
    );
    expect(err.message).toBe(`connect EADDRNOTAVAIL 127.0.0.1:${base + 1} (${err.meaning})`);
  });

  it('the reverse connect (from the listener-side endpoint back to the connector) fails with EADDRNOTAVAIL', async () => {
    const base = freePortBlock(2);
    const a = { host: '127.0.0.1', port: base };
    const b = { host: '127.0.0.1', port: base + 1 };
    await startListener({ host: b.host, port: b.port, reuseaddr: true, reuseport: true }).then(
      (l) => listeners.push(l),
    );
    const ab = await openConnection({ from: a, to: b, reuseaddr: true, reuseport: true });
    track(ab.socket);
    // B:q -> A:p is the same 4-tuple as A:p -> B:q.
    await expectErrno(
      openConnection({ from: b, to: a, reuseaddr: true, reuseport: true }),
      'connect',
      'EADDRNOTAVAIL',
    );
  });

  it('a self-connect (bind 127.0.0.1:P, connect 127.0.0.1:P) establishes, and reads its own bytes', async () => {
    const port = freePortBlock(1);
    const ep = { host: '127.0.0.1', port };
    const c = await openConnection({ from: ep, to: ep, reuseaddr: true });
    track(c.socket);
    expect(formatSockAddr(c.local)).toBe(`127.0.0.1:${port}`);
    expect(formatSockAddr(c.remote)).toBe(`127.0.0.1:${port}`);
    const s = c.socket.toNetSocket();
    nets.push(s);
    expect(await echo(s, 'myself', 6)).toBe('myself');
  });

  it('IPv6 ::1 works: a listener on [::1]:P echoes a connector bound to [::1]:S', async () => {
    const base = freePortBlock(2);
    const l = await listen('::1', base + 1, 'six');
    expect(formatSockAddr(l.local)).toBe(`[::1]:${base + 1}`);
    const c = await openConnection({
      from: { host: '::1', port: base },
      to: { host: '::1', port: base + 1 },
      reuseaddr: true,
    });
    track(c.socket);
    expect(c.local).toEqual({ address: '::1', port: base, family: 6 });
    expect(c.remote).toEqual({ address: '::1', port: base + 1, family: 6 });
    const s = c.socket.toNetSocket();
    nets.push(s);
    expect(await echo(s, 'hi', 6)).toBe('six:hi');
  });

  it('an IPv6 listener without IPV6_V6ONLY accepts IPv4 peers as ::ffff:127.0.0.1', async () => {
    const port = freePortBlock(1);
    const l = track(RawSocket.create(6, { reuseaddr: true, v6only: false }));
    l.bind('::', port);
    l.listen(16);
    const c = await openConnection({ to: { host: '127.0.0.1', port } });
    track(c.socket);
    await l.waitAcceptable(2000);
    const peer = l.accept();
    expect(peer).toBeDefined();
    track(peer!);
    expect(peer!.remoteAddress()).toEqual({
      address: '::ffff:127.0.0.1',
      port: c.local.port,
      family: 6,
    });
  });
});

describe('errors, by name', () => {
  it('connect to a closed port fails with ECONNREFUSED', async () => {
    const port = freePortBlock(1);
    const err = await expectErrno(
      openConnection({ to: { host: '127.0.0.1', port } }),
      'connect',
      'ECONNREFUSED',
    );
    expect(err.address).toBe('127.0.0.1');
    expect(err.port).toBe(port);
    expect(err.meaning).toMatch(/nothing is listening/);
  });

  it('ECONNREFUSED on IPv6 too', async () => {
    const port = freePortBlock(1);
    const err = await expectErrno(
      openConnection({ to: { host: '::1', port } }),
      'connect',
      'ECONNREFUSED',
    );
    expect(err.message).toMatch(new RegExp(`^connect ECONNREFUSED \\[::1\\]:${port} `));
  });

  it('bind to an address this host does not have fails with EADDRNOTAVAIL (no packet is sent)', () => {
    const s = track(RawSocket.create(4));
    // 198.18.0.0/15 lives only inside fourtuple's lab namespaces, never in this one.
    expect(() => s.bind('198.18.255.254', 0)).toThrow(/^bind EADDRNOTAVAIL 198\.18\.255\.254:0 /);
  });

  it('two listeners on one ip:port without SO_REUSEPORT: the second listen fails with EADDRINUSE', async () => {
    const port = freePortBlock(1);
    await listen('127.0.0.1', port, 'first');
    await expectErrno(startListener({ host: '127.0.0.1', port }), 'bind', 'EADDRINUSE');
  });

  it('a socket used after close says so instead of touching a reused descriptor', () => {
    const s = RawSocket.create(4);
    s.close();
    expect(() => s.bind('127.0.0.1', 0)).toThrow(/closed/);
  });
});

describe('waiting on epoll', () => {
  /** A connect that stays pending: the listener's accept queue (backlog 0) is already full. */
  async function pendingConnectTarget(): Promise<number> {
    const port = freePortBlock(1);
    const l = track(RawSocket.create(4, { reuseaddr: true }));
    l.bind('127.0.0.1', port);
    l.listen(0);
    await track(RawSocket.create(4)).connect('127.0.0.1', port, { timeoutMs: 2000 });
    return port;
  }

  it('an AbortSignal aborts a pending connect promptly and leaves no wait behind', async () => {
    const port = await pendingConnectTarget();
    const ac = new AbortController();
    const reason = Object.assign(new Error('stop'), { name: 'AbortError' });
    const s = track(RawSocket.create(4));
    const p = s.connect('127.0.0.1', port, { signal: ac.signal, timeoutMs: 30_000 });
    expect(pendingWaits()).toBe(1);
    const t0 = performance.now();
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(performance.now() - t0).toBeLessThan(1000); // not the 30 s timeout; margin for a loaded machine
    expect(pendingWaits()).toBe(0);
  });

  it('openConnection closes the socket when its connect is aborted', async () => {
    const port = await pendingConnectTarget();
    const ac = new AbortController();
    const p = openConnection({ to: { host: '127.0.0.1', port }, signal: ac.signal });
    queueMicrotask(() => ac.abort(new Error('stop')));
    await expect(p).rejects.toThrow('stop');
    await expect(
      openConnection({ to: { host: '127.0.0.1', port }, signal: ac.signal }),
    ).rejects.toThrow('stop');
  });

  it('the connect timeout fires as ETIMEDOUT', async () => {
    const port = await pendingConnectTarget();
    const s = track(RawSocket.create(4));
    const t0 = performance.now();
    await expectErrno(s.connect('127.0.0.1', port, { timeoutMs: 50 }), 'connect', 'ETIMEDOUT');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('a listening socket becomes acceptable when a peer connects, and accept() says when none is waiting', async () => {
    const port = freePortBlock(1);
    const l = track(RawSocket.create(4, { reuseaddr: true }));
    l.bind('127.0.0.1', port);
    l.listen(8);
    expect(l.accept()).toBeUndefined();
    const waiting = l.waitAcceptable(5000);
    const c = await openConnection({ to: { host: '127.0.0.1', port } });
    track(c.socket);
    await waiting;
    const peer = track(l.accept()!);
    expect(peer.remoteAddress()).toEqual(c.local);
    expect(peer.localAddress()).toEqual(c.remote);
  });

  it('many connects awaited at once all complete, each with its own result', async () => {
    const base = freePortBlock(2);
    await listen('127.0.0.1', base, 'many');
    const n = 300;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        openConnection({ to: { host: '127.0.0.1', port: i % 2 === 0 ? base : base + 1 } }).then(
          (c) => {
            track(c.socket);
            return c;
          },
        ),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter(
      (r) => r.status === 'rejected' && (r.reason as SyscallError).code === 'ECONNREFUSED',
    ).length;
    expect({ ok, refused }).toEqual({ ok: n / 2, refused: n / 2 });
  });

  it('a net.Socket handed the descriptor sees the peer close', async () => {
    const port = freePortBlock(1);
    const l = await listen('127.0.0.1', port, 'x');
    const c = await openConnection({ to: { host: '127.0.0.1', port } });
    const s = c.socket.toNetSocket();
    nets.push(s);
    await echo(s, 'a', 3);
    let error: string | undefined;
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code;
    });
    const closed = new Promise((resolve) => s.once('close', resolve));
    await l.close();
    await closed;
    expect(error).toBe('ECONNRESET'); // the listener closes with an RST
    expect(l.stats.open).toBe(0);
  });
});
