/**
 * Network-namespace labs against the real kernel. Root only: skipped, with the reason, when this
 * process may not create namespaces; under CI=true as root they must run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, expect, it } from 'vitest';
import {
  cleanupLabs,
  createLab,
  destroyLab,
  execIn,
  LAB_STATE_DIR,
  type Lab,
  type LabProgressStep,
  listLabs,
  parseNetnsList,
  spawnIn,
} from '../../src/hosts/index.js';
import { BIN, cliProcess } from '../helpers/cli.js';
import { describeNetns } from '../helpers/netns.js';
import { EXIT_BOUND_MS } from '../helpers/signals.js';

/** Run ids this file created: removed after each test whatever happened. */
const created = new Set<string>();
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  for (const id of created) await destroyLab(id).catch(() => {});
});

afterAll(async () => {
  for (const id of created) await destroyLab(id).catch(() => {});
  // Nothing of any run this file started is left.
  for (const id of created) expect(leftovers(id)).toEqual([]);
});

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** This run's namespaces, root-namespace links and state file, as names. */
function leftovers(runId: string): string[] {
  const prefix = `ft-${runId}-`;
  const ns = parseNetnsList(run('ip', ['netns', 'list'])).filter((n) => n.startsWith(prefix));
  const links = run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .filter((l) => l.includes(prefix));
  const state = existsSync(`${LAB_STATE_DIR}/${runId}.json`)
    ? [`${LAB_STATE_DIR}/${runId}.json`]
    : [];
  return [...ns, ...links, ...state];
}

/** The root namespace's links, addresses and routes (v4 and v6, every table). */
function rootSnapshot() {
  return {
    links: run('ip', ['-o', 'link', 'show']),
    addrs: run('ip', ['-o', 'addr', 'show']),
    routes: run('ip', ['route', 'show', 'table', 'all']),
    routes6: run('ip', ['-6', 'route', 'show', 'table', 'all']),
  };
}

async function lab(machines: number): Promise<Lab> {
  let runId: string | undefined;
  const l = await createLab({
    kind: 'netns',
    machines,
    onProgress: (p) => {
      runId = p.runId;
      created.add(p.runId);
    },
  });
  expect(l.runId).toBe(runId);
  return l;
}

const SERVER = `
const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const s = net.createServer((c) => {
  c.once('data', (d) => c.end('echo from ' + c.localAddress + ' to ' + c.remoteAddress + ': ' + d));
});
s.listen(port, host, () => console.log('ready'));
`;

const CLIENT = `
const net = require('node:net');
const [host, port, from] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const c = net.connect({ host, port, localAddress: from }, () => c.write('hello from ' + from));
let got = '';
c.on('data', (d) => { got += d; });
c.on('end', () => console.log(got));
c.on('error', (e) => { console.error(e.code); process.exit(3); });
setTimeout(() => { console.error('timeout'); process.exit(4); }, 5000).unref();
`;

/** Starts an echo server inside `m` and resolves when it listens. */
async function serverIn(m: Lab['machines'][number], port: number): Promise<ChildProcess> {
  const child = spawnIn(m, process.execPath, ['-e', SERVER, m.address, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      if (String(d).includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`server in ${m.netns} exited ${code}: ${err}`)));
  });
  return child;
}

async function talk(from: Lab['machines'][number], to: Lab['machines'][number], port: number) {
  const r = await execIn(from, process.execPath, [
    '-e',
    CLIENT,
    to.address,
    String(port),
    from.address,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

/** Waits for a lab of process `pid` to have namespaces; resolves with its run id. */
async function labOf(pid: number, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const l = (await listLabs()).find((x) => x.ownerPid === pid && x.namespaces.length > 0);
    if (l) {
      created.add(l.runId);
      return l.runId;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process ${pid} created no lab within ${timeoutMs} ms`);
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
    } else child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

function hostsUpChild(
  machines: number,
  stepDelayMs: number,
): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'hosts', 'up', '--machines', String(machines)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FOURTUPLE_HOSTS_STEP_DELAY_MS: String(stepDelayMs) },
  });
  children.add(child);
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return { child, stderr: () => err };
}

describeNetns('netns labs', () => {
  it('a lab of 3: namespaces exist, TCP crosses them, the root namespace is untouched, destroy leaves nothing', async () => {
    const before = rootSnapshot();
    const l = await lab(3);
    const names = parseNetnsList(run('ip', ['netns', 'list']));
    for (const m of l.machines) {
      expect(names).toContain(m.netns);
      expect(existsSync(m.netnsPath!)).toBe(true);
      // Own stack: lo and eth0 only, lo up, one address, and no route out of the lab.
      const links = run('ip', ['-n', m.netns!, '-o', 'link', 'show']);
      expect(links.trim().split('\n')).toHaveLength(2);
      expect(links).toMatch(/^1: lo: <LOOPBACK,UP/m);
      const addrs = run('ip', ['-n', m.netns!, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      expect(addrs).toContain(`inet ${m.address}/16`);
      const routes = run('ip', ['-n', m.netns!, 'route', 'show']).trim();
      expect(routes).toBe(`198.18.0.0/16 dev eth0 proto kernel scope link src ${m.address}`);
    }
    expect(names).toContain(l.bridge!.netns);
    expect(l.machines.map((m) => m.address)).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);

    // TCP between namespaces: m0 -> m1 and m2 -> m1, each seen with its own source address.
    const [m0, m1, m2] = l.machines as [Lab['machines'][0], Lab['machines'][0], Lab['machines'][0]];
    await serverIn(m1, 7000);
    expect(await talk(m0, m1, 7000)).toBe(
      'echo from 198.18.0.2 to 198.18.0.1: hello from 198.18.0.1',
    );
    expect(await talk(m2, m1, 7000)).toBe(
      'echo from 198.18.0.2 to 198.18.0.3: hello from 198.18.0.3',
    );

    // The root namespace has no address, link or route of the lab (never connect from it:
    // with a default route, 198.18/15 would leave the host).
    const during = rootSnapshot();
    expect(during).toEqual(before);
    expect(`${during.addrs}${during.routes}`).not.toMatch(/198\.1[89]\./);
    expect(during.links).not.toContain(`ft-${l.runId}`);

    const d = await l.destroy();
    expect(d.removed.filter((r) => r.type === 'netns').map((r) => r.name)).toEqual([
      `ft-${l.runId}-br`,
      `ft-${l.runId}-m0`,
      `ft-${l.runId}-m1`,
      `ft-${l.runId}-m2`,
    ]);
    expect(leftovers(l.runId)).toEqual([]);
    expect(rootSnapshot()).toEqual(before);
    expect((await listLabs()).map((x) => x.runId)).not.toContain(l.runId);
    expect((await l.destroy()).removed).toEqual([]); // idempotent
  });

  it('a lab of 16 (and its timings): the last machine reaches the first', async () => {
    const l = await lab(16);
    await serverIn(l.machines[0]!, 7001);
    expect(await talk(l.machines[15]!, l.machines[0]!, 7001)).toBe(
      'echo from 198.18.0.1 to 198.18.0.16: hello from 198.18.0.16',
    );
    const d = await l.destroy();
    const timings = `lab of 16: created in ${l.createMs} ms, destroyed in ${d.destroyMs} ms`;
    expect(leftovers(l.runId), timings).toEqual([]);
  });

  it.each<LabProgressStep>(['namespaces', 'bridge', 'addresses'])(
    'aborted after step "%s": rejects with the abort and leaves nothing',
    async (step) => {
      const before = rootSnapshot();
      const ac = new AbortController();
      let runId = '';
      await expect(
        createLab({
          kind: 'netns',
          machines: 8,
          signal: ac.signal,
          onProgress: (p) => {
            runId = p.runId;
            created.add(p.runId);
            if (p.step === step) ac.abort();
          },
        }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(runId).not.toBe('');
      expect(leftovers(runId)).toEqual([]);
      expect(rootSnapshot()).toEqual(before);
    },
  );

  it('a failure midway removes what was created before the error propagates', async () => {
    let runId = '';
    await expect(
      createLab({
        kind: 'netns',
        machines: 4,
        onProgress: (p) => {
          runId = p.runId;
          created.add(p.runId);
          if (p.step === 'bridge') throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    expect(leftovers(runId)).toEqual([]);
  });

  it('an abort during a pause between steps removes everything', async () => {
    const ac = new AbortController();
    let runId = '';
    const p = createLab({
      kind: 'netns',
      machines: 3,
      signal: ac.signal,
      stepDelayMs: 5000,
      onProgress: (x) => {
        runId = x.runId;
        created.add(x.runId);
        if (x.step === 'namespaces') setTimeout(() => ac.abort(), 50);
      },
    });
    const t0 = Date.now();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(leftovers(runId)).toEqual([]);
  });

  it('a lab host is a target only from inside its lab: refused from the root namespace, reached with --host-ns', async () => {
    const up = cliProcess(['hosts', 'up', '--machines', '2', '--json']);
    expect(up.code).toBe(0);
    const info = JSON.parse(up.stdout);
    created.add(info.runId);
    const m1 = `ft-${info.runId}-m1`;
    const listener = spawn(
      process.execPath,
      [BIN, 'listen', '--host', '198.18.0.2', '--port', '7000', '--host-ns', m1, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(listener);
    await new Promise<void>((resolve, reject) => {
      listener.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('"listening"')) resolve();
      });
      listener.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
    // From the root namespace, 198.18.0.0/15 is not ours: it would follow the default route.
    const root = cliProcess(['connect', '--to', '198.18.0.2:7000', '--count', '1']);
    expect(root.code).toBe(2);
    expect(root.stdout).toBe('');
    expect(root.stderr).toMatch(/--to 198\.18\.0\.2 refused: .*reached only from inside its lab/);
    // From another machine of the same lab it is a host of ours.
    const inside = cliProcess([
      'connect',
      '--to',
      '198.18.0.2:7000',
      '--host-ns',
      `ft-${info.runId}-m0`,
      '--count',
      '1',
      '--json',
    ]);
    expect(inside.stderr).toBe('');
    expect(inside.code).toBe(0);
    expect(inside.stdout).toMatch(/"local":"198\.18\.0\.1:\d+","remote":"198\.18\.0\.2:7000"/);
    // max runs in this namespace: a lab address is never its target.
    const max = cliProcess(['max', '--target', '198.18.0.2:7000', '--connections', '10']);
    expect(max.code).toBe(2);
    expect(max.stderr).toMatch(/--target 198\.18\.0\.2 refused/);
    listener.kill('SIGINT');
    await new Promise((r) => listener.once('exit', r));
    expect(cliProcess(['hosts', 'down', '--run', info.runId]).code).toBe(0);
  });

  it('hosts up --json leaves a lab; list shows it kept; down --run removes it', () => {
    expect(existsSync(BIN), 'the CLI is built (npm test builds it)').toBe(true);
    const up = cliProcess(['hosts', 'up', '--machines', '2', '--json']);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const info = JSON.parse(up.stdout);
    created.add(info.runId);
    expect(info).toMatchObject({
      kind: 'netns',
      keep: true,
      subnet: '198.18.0.0/16',
      machines: [
        { name: 'm0', address: '198.18.0.1', netns: `ft-${info.runId}-m0` },
        { name: 'm1', address: '198.18.0.2', netns: `ft-${info.runId}-m1` },
      ],
    });
    expect(leftovers(info.runId)).toHaveLength(4); // 3 namespaces + the record

    const list = cliProcess(['hosts', 'list', '--json']);
    expect(list.code).toBe(0);
    const mine = JSON.parse(list.stdout).find((x: { runId: string }) => x.runId === info.runId);
    expect(mine).toMatchObject({
      status: 'kept',
      namespaces: [`ft-${info.runId}-br`, `ft-${info.runId}-m0`, `ft-${info.runId}-m1`],
    });

    const down = cliProcess(['hosts', 'down', '--run', info.runId, '--json']);
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout).removed).toHaveLength(4);
    expect(leftovers(info.runId)).toEqual([]);

    const again = cliProcess(['hosts', 'down', '--run', info.runId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `fourtuple hosts: error: no lab with run id ${info.runId} (see \`fourtuple hosts list\`)\n`,
    );
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'hosts up interrupted by %s mid-creation removes its lab and exits %i',
    async (sig, code) => {
      const { child, stderr } = hostsUpChild(8, 10_000);
      const runId = await labOf(child.pid!);
      const t0 = Date.now();
      child.kill(sig);
      const r = await exited(child);
      expect(Date.now() - t0).toBeLessThan(EXIT_BOUND_MS);
      expect(r.code).toBe(code);
      expect(stderr()).toBe('fourtuple hosts: interrupted\n');
      expect(leftovers(runId)).toEqual([]);
    },
  );

  it('cleanup removes the lab of a SIGKILLed `hosts up` and lists what it removed', async () => {
    const { child } = hostsUpChild(8, 10_000);
    const runId = await labOf(child.pid!);
    child.kill('SIGKILL');
    expect((await exited(child)).signal).toBe('SIGKILL');
    const left = leftovers(runId);
    expect(left.length).toBeGreaterThan(1);
    expect((await listLabs()).find((l) => l.runId === runId)?.status).toBe('leftover');

    const r = cliProcess(['cleanup', '--json']);
    expect(r.code).toBe(0);
    const removed = JSON.parse(r.stdout).removed.filter(
      (x: { runId: string }) => x.runId === runId,
    );
    expect(removed.map((x: { name: string }) => x.name).sort()).toEqual([...left].sort());
    expect(leftovers(runId)).toEqual([]);
  });

  it('cleanup leaves alone a lab whose process is still running', async () => {
    const l = await lab(2);
    const r = await cleanupLabs();
    expect(r.removed.filter((x) => x.runId === l.runId)).toEqual([]);
    expect(r.inUse.map((x) => x.runId)).toContain(l.runId);
    expect(leftovers(l.runId)).toHaveLength(4);
    await l.destroy();
    expect(leftovers(l.runId)).toEqual([]);
  });
});
