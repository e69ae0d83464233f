/**
 * `max` inside a small memory cgroup stops on its guard instead of being OOM-killed: the guard
 * reads the process's own cgroup (MemAvailable is the machine's), and workers whose coordinator
 * is gone leave without a stack trace. Root and the v1 memory controller (this machine's) only.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOwnCgroupMemory } from '../../src/limits/cgroup.js';
import { BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const own = readOwnCgroupMemory();
const LIMIT = 768 * 1024 * 1024;

/**
 * `fourtuple max ARGS --json` inside a fresh memory cgroup (v1) of `limitBytes` under ours: its
 * exit, its result, and the cgroup's failcnt and leftover processes, read before it is removed.
 */
function maxInCgroup(name: string, limitBytes: number, args: string) {
  const cg = join('/sys/fs/cgroup/memory', own!.cgroup, `fourtuple-${name}-${process.pid}`);
  mkdirSync(cg);
  try {
    writeFileSync(join(cg, 'memory.limit_in_bytes'), String(limitBytes));
    const r = spawnSync(
      'sh',
      [
        '-c',
        `echo $$ > ${cg}/cgroup.procs && exec "${process.execPath}" ${BIN} max ${args} --json`,
      ],
      { encoding: 'utf8', timeout: 110_000 },
    );
    return {
      r,
      failcnt: Number(readFileSync(join(cg, 'memory.failcnt'), 'utf8')),
      procsLeft: readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim(),
    };
  } finally {
    rmdirSync(cg);
  }
}

describe('max in a 768 MiB memory cgroup', () => {
  it.skipIf(process.getuid?.() !== 0 || own?.version !== 1)(
    'asked for 200,000 connections, stops on the memory guard with every held one alive, never reaching the limit',
    () => {
      const { r, failcnt, procsLeft } = maxInCgroup('max', LIMIT, '--connections 200000');
      expect(r.signal, r.stderr).toBe(null);
      expect(r.status, r.stderr).not.toBe(137);
      expect(r.stderr).not.toMatch(/Unhandled|EPIPE|at .*\.js:\d+/);
      const j = JSON.parse(r.stdout);
      expect(j.stoppedBy.reason).toBe('memory-guard');
      expect(j.stoppedBy.detail).toContain("memory cgroup's headroom");
      expect(j.established).toBeGreaterThan(10_000);
      expect(j.established).toBeLessThan(200_000);
      expect(j.dead).toBe(0);
      expect(j.alive).toBe(j.established);
      expect(j.sockstat.clean).toBe(true);
      // the kernel never had to refuse the cgroup memory: the guard stopped first
      expect(failcnt).toBe(0);
      expect(procsLeft).toBe('');
    },
    120_000,
  );

  it.skipIf(process.getuid?.() !== 0 || own?.version !== 1)(
    '--connections auto in a 1 GiB cgroup starts only the workers the measured cost allows, stops on the memory guard, exit 0',
    () => {
      const { r, failcnt, procsLeft } = maxInCgroup(
        'auto',
        1024 ** 3,
        '--connections auto --hold 1s',
      );
      expect(r.signal, r.stderr).toBe(null);
      const j = JSON.parse(r.stdout);
      expect(r.status, `${j.stoppedBy?.detail}\n${r.stderr}`).toBe(0);
      expect(j.requested).toBe('auto');
      expect(j.stoppedBy.reason).toBe('memory-guard');
      // the plan assumed less than any real cost (an upper bound); the run measured the whole
      // cost and started fewer workers than that plan
      expect(j.workers).toBeLessThan(Math.ceil(j.planned / 9_968));
      expect(j.established).toBeGreaterThan(30_000);
      expect(j.dead).toBe(0);
      expect(j.alive).toBe(j.established);
      expect(j.sockstat.clean).toBe(true);
      expect(failcnt).toBe(0);
      expect(procsLeft).toBe('');
    },
    120_000,
  );

  it.skipIf(process.getuid?.() !== 0 || own?.version !== 1)(
    'a cluster agent in a 128 MiB cgroup (a small pod) stops on the guard, its connections alive, never reaching the limit',
    async () => {
      const port = await freePort();
      const server = spawn(
        process.execPath,
        [BIN, 'listen', '--host', '127.0.0.1', '--port', String(port), '--backlog', '4096'],
        { stdio: 'ignore' },
      );
      const cg = join('/sys/fs/cgroup/memory', own!.cgroup, `fourtuple-agent-${process.pid}`);
      mkdirSync(cg);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        writeFileSync(join(cg, 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
        const control = await freePort();
        const r = spawnSync(
          'sh',
          [
            '-c',
            `echo $$ > ${cg}/cgroup.procs && exec "${process.execPath}" ${BIN} agent --index 0 --agents 1 --target 127.0.0.1:${port} --connections 19000 --hold 1s --coordinator 127.0.0.1:${control} --listen 127.0.0.1`,
          ],
          { encoding: 'utf8', timeout: 110_000 },
        );
        expect(r.signal, r.stderr).toBe(null);
        const [agent] = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(agent.stoppedBy).toMatch(/^memory-guard: .*memory cgroup's headroom/);
        expect(agent.established).toBeGreaterThan(1000);
        expect(agent.established).toBeLessThan(19_000);
        expect(agent.alive).toBe(agent.established);
        expect(Number(readFileSync(join(cg, 'memory.failcnt'), 'utf8'))).toBe(0);
      } finally {
        server.kill('SIGKILL');
        rmdirSync(cg);
      }
    },
    120_000,
  );
});
