/**
 * Real servers for `max --target` tests, run as a user would: Redis and nginx from their Debian
 * packages, each with its own config file in a temporary directory, on 127.0.0.1 and a free
 * port below the ephemeral range; and a listener with a tiny backlog that never accepts (a few
 * lines of Python). Each is stopped by its own pid in `stopServers()` (call it in afterAll), and
 * a server with children (nginx's workers) is stopped gracefully so that none is left behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, spawnChild } from './child.js';
import { freePort } from './ports.js';
import { descendants, stillRunning } from './procs.js';

export interface Server {
  child: Child;
  port: number;
  dir: string;
}

const running: Server[] = [];

/** Whether a command is installed (the tests need it; CI installs it in .ci/run). */
export function installed(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Resolves once 127.0.0.1:port accepts a connection (polling, up to `ms`). */
async function listening(port: number, child: Child, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (child.proc.exitCode !== null || Date.now() > until) {
      throw new Error(`server on port ${port} did not start: ${child.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(cmd: string, args: string[], port: number, dir: string): Server {
  const server = { child: spawnChild(cmd, args), port, dir };
  running.push(server);
  return server;
}

/** redis-server with its own config: `maxclients`, no persistence, 127.0.0.1:port. */
export async function startRedis(maxclients: number): Promise<Server> {
  const port = freePort(['127.0.0.1']);
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-redis-'));
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'bind 127.0.0.1',
      `port ${port}`,
      `maxclients ${maxclients}`,
      'save ""',
      'appendonly no',
      'daemonize no',
      `dir ${dir}`,
      `logfile ${join(dir, 'redis.log')}`,
      '',
    ].join('\n'),
  );
  const s = start('redis-server', [conf], port, dir);
  await listening(port, s.child);
  return s;
}

/** nginx, `worker_processes 1; worker_connections N`, answering 200 on 127.0.0.1:port. */
export async function startNginx(workerConnections: number): Promise<Server> {
  const port = freePort(['127.0.0.1']);
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-nginx-'));
  const conf = join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${join(dir, t)};`)
    .join('\n');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
${temp}
  keepalive_timeout 300s;
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } }
}
`,
  );
  const s = start('nginx', ['-c', conf, '-p', dir], port, dir);
  await listening(port, s.child);
  return s;
}

/** memcached, `-c maxconns`, on 127.0.0.1:port (as nobody: it refuses to run as root). */
export async function startMemcached(maxconns: number): Promise<Server> {
  const port = freePort(['127.0.0.1']);
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-memcached-'));
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const args = [...user, '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16'];
  const s = start('memcached', [...args, '-c', String(maxconns)], port, dir);
  await listening(port, s.child);
  return s;
}

/**
 * A Python listener on a free port with backlog `backlog`: `then` is the script that runs once
 * it listens (the socket is `s`).
 */
async function startPython(name: string, backlog: number, then: string[]): Promise<Server> {
  const port = freePort(['127.0.0.1']);
  const dir = mkdtempSync(join(tmpdir(), `fourtuple-${name}-`));
  const script = [
    'import socket, time',
    's = socket.socket()',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    `s.bind(('127.0.0.1', ${port}))`,
    `s.listen(${backlog})`,
    "print('listening', flush=True)",
    ...then,
  ].join('\n');
  const s = start('python3', ['-c', script], port, dir);
  await s.child.waitFor((l) => l === 'listening');
  return s;
}

/** A listener with backlog `backlog` that never accepts: its queue fills, then SYNs are dropped. */
export function startBacklogListener(backlog: number): Promise<Server> {
  return startPython('backlog', backlog, ['while True: time.sleep(3600)']);
}

/**
 * A listener that accepts every connection and, `afterMs` after the first one, closes them all
 * (FIN) and accepts no more: connections that die in the middle of a hold.
 */
export function startClosingListener(afterMs: number): Promise<Server> {
  return startPython('closing', 4096, [
    's.settimeout(0.02)',
    'conns, first = [], None',
    `while first is None or time.time() - first < ${afterMs / 1000}:`,
    '    try:',
    '        conns.append(s.accept()[0])',
    '        first = first or time.time()',
    '    except socket.timeout:',
    '        pass',
    'for c in conns: c.close()',
    "print('closed', len(conns), flush=True)",
    'while True: time.sleep(3600)',
  ]);
}

/** A listener that closes each connection `idleMs` after accepting it (an idle timeout). */
export function startIdleTimeoutListener(idleMs: number): Promise<Server> {
  return startPython('idle', 4096, [
    's.settimeout(0.02)',
    'conns = []',
    'while True:',
    '    try:',
    '        conns.append((s.accept()[0], time.time()))',
    '    except socket.timeout:',
    '        pass',
    `    while conns and time.time() - conns[0][1] > ${idleMs / 1000}:`,
    '        conns.pop(0)[0].close()',
  ]);
}

/**
 * Stops every server this file started, by its pid: SIGTERM (nginx's master then stops its
 * workers), SIGKILL after 5 s; then checks none of their processes is left.
 */
export async function stopServers(): Promise<string[]> {
  const left: string[] = [];
  for (const s of running.splice(0)) {
    const kids = descendants(s.child.pid);
    if (s.child.proc.exitCode === null && s.child.proc.signalCode === null) {
      s.child.proc.kill('SIGTERM');
      const t = setTimeout(() => s.child.proc.kill('SIGKILL'), 5000);
      await s.child.exited;
      clearTimeout(t);
    }
    // nginx's workers leave a moment after their master: give them a second
    for (let i = 0; i < 20 && stillRunning(kids).length; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const k of stillRunning(kids)) {
      left.push(`${k.pid} ${k.cmd}`);
      process.kill(k.pid, 'SIGKILL');
    }
    rmSync(s.dir, { recursive: true, force: true });
  }
  return left;
}
