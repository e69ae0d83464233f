/**
 * `limits` against the real kernel: every figure checked against an independent read (the
 * shell's ulimit, sysctl -n, /proc read by another process), and the measurement on loopback
 * checked for a sane cost and for leaving no socket behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  known,
  MAX_MEASURE_CONNECTIONS,
  measureConnectionCost,
  readLimits,
  sysctlWritable,
} from '../../src/limits/index.js';
import { fdEntryListed } from '../../src/limits/procfs.js';
import { killAll, spawnChild, spawnCli } from '../helpers/child.js';
import { BIN, cli } from '../helpers/cli.js';
import { descendants } from '../helpers/procs.js';

const sh = (script: string): string =>
  execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim();
const sysctl = (name: string): string => sh(`sysctl -n ${name}`).replace(/\s+/g, ' ');
const limitNumber = (s: string): number | 'unlimited' => (s === 'unlimited' ? s : Number(s));

/** /proc/slabinfo is root's to read: the descriptor-observer figure needs it. */
const slabinfoReadable = ((): boolean => {
  try {
    readFileSync('/proc/slabinfo');
    return true;
  } catch {
    return false;
  }
})();

/** TCP sockets in use now, read straight from /proc (not through the library). */
/** descriptors this process has open */
function fdsOpen(): number {
  return readdirSync('/proc/self/fd').length;
}

/** This process's TCP handles as libuv sees them: sockets and listeners still open. */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => /^TCP/.test(r)).length;
}

/** Sockets with `port` at either end, as `ss` lists them (all states, TIME_WAIT included). */
function ssOnPort(port: number): number {
  const out = sh(`ss -Htan '( sport = :${port} or dport = :${port} )'`);
  return out === '' ? 0 : out.split('\n').length;
}

describe('readLimits agrees with independent reads', () => {
  const r = readLimits();

  it('RLIMIT_NOFILE and RLIMIT_NPROC match the shell ulimit', () => {
    expect(known(r.nofile)).toEqual({
      soft: limitNumber(sh('ulimit -n')),
      hard: limitNumber(sh('ulimit -Hn')),
    });
    expect(known(r.nproc)?.soft).toEqual(
      limitNumber(execFileSync('bash', ['-c', 'ulimit -u'], { encoding: 'utf8' }).trim()),
    );
  });

  it('CAP_SYS_RESOURCE matches bit 24 of CapEff as a child process reads it', () => {
    const hex = sh("awk '/^CapEff/ {print $2}' /proc/self/status");
    const mask = BigInt(`0x${hex}`);
    expect(known(r.capabilities)?.sysResource).toBe(((mask >> 24n) & 1n) === 1n);
    expect(known(r.capabilities)?.sysAdmin).toBe(((mask >> 21n) & 1n) === 1n);
  });

  it('sysctls match sysctl -n', () => {
    expect(String(known(r.nrOpen))).toBe(sysctl('fs.nr_open'));
    expect(String(known(r.fileMax))).toBe(sysctl('fs.file-max'));
    const range = known(r.portRange)!;
    expect(`${range.low} ${range.high}`).toBe(sysctl('net.ipv4.ip_local_port_range'));
    expect(known(r.reservedPorts)?.text).toBe(sysctl('net.ipv4.ip_local_reserved_ports'));
    expect(String(known(r.somaxconn))).toBe(sysctl('net.core.somaxconn'));
    expect(String(known(r.tcpMaxSynBacklog))).toBe(sysctl('net.ipv4.tcp_max_syn_backlog'));
    const mem = known(r.tcpMem)!;
    expect(`${mem.low} ${mem.pressure} ${mem.high}`).toBe(sysctl('net.ipv4.tcp_mem'));
    expect(mem.pageSize).toBe(Number(sh('getconf PAGESIZE')));
    const rmem = known(r.tcpRmem)!;
    expect(`${rmem.min} ${rmem.default} ${rmem.max}`).toBe(sysctl('net.ipv4.tcp_rmem'));
    const wmem = known(r.tcpWmem)!;
    expect(`${wmem.min} ${wmem.default} ${wmem.max}`).toBe(sysctl('net.ipv4.tcp_wmem'));
    expect(String(known(r.tcpTwReuse))).toBe(sysctl('net.ipv4.tcp_tw_reuse'));
    expect(String(known(r.tcpFinTimeout))).toBe(sysctl('net.ipv4.tcp_fin_timeout'));
  });

  it('conntrack is read when loaded and unknown with a reason when not', () => {
    const loaded = sh('test -e /proc/sys/net/netfilter/nf_conntrack_max && echo yes || echo no');
    if (loaded === 'yes') {
      expect(String(known(r.conntrack)?.max)).toBe(sysctl('net.netfilter.nf_conntrack_max'));
    } else {
      expect((r.conntrack as { reason: string }).reason).toContain('conntrack not loaded');
    }
  });

  it('says per sysctl whether it can be written, as a child shell finds it (test -w)', () => {
    const byShell = (path: string): boolean =>
      sh(`test -w ${path} && echo yes || echo no`) === 'yes';
    // fs.file-nr is 0444: read-only even to root; somaxconn is writable by root here
    for (const path of ['/proc/sys/fs/file-nr', '/proc/sys/net/core/somaxconn']) {
      expect(sysctlWritable(path)).toBe(byShell(path));
    }
    expect(sysctlWritable('/proc/sys/fs/file-nr')).toBe(false);
    expect(sysctlWritable('/proc/sys/no/such/sysctl')).toBe(false);
    // the reading holds the answer for each sysctl it read, by path
    expect(r.writableSysctls['/proc/sys/net/core/somaxconn']).toBe(
      byShell('/proc/sys/net/core/somaxconn'),
    );
    expect(r.writableSysctls['/proc/sys/fs/file-nr']).toBe(false);
  });

  it('MemTotal and cores match /proc/meminfo and nproc', () => {
    const total = Number(sh("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) * 1024;
    expect(known(r.memory)?.totalBytes).toBe(total);
    const available = known(r.memory)!.availableBytes;
    expect(available).toBeGreaterThan(0);
    expect(available).toBeLessThanOrEqual(total);
    expect(r.cores).toBe(Number(sh('nproc')));
  });
});

/** A process that opens four descriptors on each line it reads and prints "k:fd fd fd fd". */
const OPENER = `
const fs = require('node:fs');
let k = 0;
process.stdin.on('data', () => {
  k++;
  const fds = [0, 1, 2, 3].map(() => fs.openSync('/dev/null', 'r'));
  console.log(k + ':' + fds.join(' '));
});`;

describe('fdEntryListed against the kernel', () => {
  afterEach(killAll);

  it('tells an entry of /proc/PID/fd another program made from one no one had', async () => {
    const child = spawnChild(process.execPath, ['-e', OPENER]);
    let k = 0;
    const open = async (): Promise<number[]> => {
      k++;
      child.proc.stdin!.write('\n');
      const line = await child.waitFor((l) => l.startsWith(`${k}:`));
      return line
        .slice(line.indexOf(':') + 1)
        .split(' ')
        .map(Number);
    };
    // asked the moment it is opened, before anything lists it (this VM's lister comes 0.05 s
    // after a new descriptor at the soonest): at least one of five reads as made by the asking
    const fresh: (boolean | undefined)[] = [];
    for (let i = 0; i < 5; i++) fresh.push(fdEntryListed(child.pid, (await open())[0]!));
    expect(fresh).toContain(false);
    // `ls -l` makes an entry for every descriptor, as a program listing them does
    const fds = await open();
    sh(`ls -l /proc/${child.pid}/fd > /dev/null`);
    const listed = fds.slice(0, 3).map((fd) => fdEntryListed(child.pid, fd));
    expect(listed.filter((x) => x === true).length).toBeGreaterThanOrEqual(2);
    // a descriptor that is not open: no answer, and no entry made
    expect(fdEntryListed(child.pid, 100_000)).toBeUndefined();
  });
});

describe('limits: a program that lists descriptors', () => {
  it.skipIf(!slabinfoReadable)(
    "counts the /proc inodes a lister makes for the measurement's descriptors",
    async () => {
      // the lister: this test process lists the descriptors of the CLI and of the `max` worker
      // that holds its connections every 200 ms, as `ls -l /proc/PID/fd`, `lsof` or a
      // monitoring agent would (each listed descriptor gets a /proc inode and a dentry, kept
      // while it lives)
      const child = spawnCli(['limits', '--connections', '2000', '--json']);
      const lister = setInterval(() => {
        for (const pid of [child.pid, ...descendants(child.pid).map((p) => p.pid)]) {
          try {
            readdirSync(`/proc/${pid}/fd`);
          } catch {
            // not started or gone
          }
        }
      }, 200);
      const { code } = await child.exited;
      clearInterval(lister);
      expect(code).toBe(0);
      const r = JSON.parse(child.lines.join('\n'));
      const o = r.measured.descriptorObserver;
      // seen on entries another program (this test) had made, and counted as one /proc inode
      // and one dentry for each of the two descriptors a connection holds
      expect(o.seenOn).toMatch(/descriptors \d+ and \d+/);
      const caches = new Map(
        sh("awk '/^(proc_inode_cache|dentry) /{print $1, $5, $6}' /proc/slabinfo")
          .split('\n')
          .map((l) => l.split(' '))
          .map(([name, perSlab, pages]) => [name, (Number(pages) * 4096) / Number(perSlab)]),
      );
      const perInode = caches.get('proc_inode_cache')! + caches.get('dentry')!;
      expect(Math.abs(o.bytesPerConnection - 2 * perInode)).toBeLessThanOrEqual(5);
      expect(r.perConnection.observerBytes).toBe(o.bytesPerConnection);
      expect(r.perConnection.kernelBytes).toBeGreaterThan(o.bytesPerConnection);
    },
    60_000,
  );
});

describe('measureConnectionCost on loopback', () => {
  it('measures 2-50 KiB of kernel memory per connection and leaves no socket behind', async () => {
    const handles = tcpHandles();
    const fds = fdsOpen();
    const n = 2000;
    const m = await measureConnectionCost({ connections: n });
    expect(m.connections).toBe(n);
    // held as `max` holds them: raw descriptors in the engine
    expect(m.holder).toBe('engine');
    expect(m.kernelBytesPerConnectionSteps.length).toBeGreaterThanOrEqual(3);
    expect(m.certainty.certain).toBe(m.certainty.reasons.length === 0);
    expect(m.certainty.kernelStderrBytes).toBeGreaterThanOrEqual(0);
    expect(m.holderBaselineBytes).toBeGreaterThan(1024 * 1024);
    // the holder is a `max` worker: its own pages (anonymous) before the first connection, not
    // the node binary's that every holder shares, nor this test process's (its heap holds vitest)
    expect(m.holderBaselineOf).toBe('max worker');
    expect(m.holderBaselineBytes).toBe(m.before.anonBytes);
    expect(m.holderBaselineBytes).toBeLessThan(process.memoryUsage().heapUsed);
    expect(m.holderBaselineBytes).toBeLessThan(64 * 1024 * 1024);
    // and it is gone: no worker of the measurement's is left
    expect(descendants(process.pid).filter((p) => /scale\/worker\.js/.test(p.cmd))).toEqual([]);
    // a certain figure is a connection's kernel memory; an uncertain one (another program moved
    // Slab meanwhile: a 200k `max` beside it read 88 KiB) has its reasons, and predict falls back
    if (m.certainty.certain) {
      expect(m.kernelBytesPerConnection).toBeGreaterThanOrEqual(2 * 1024);
      expect(m.kernelBytesPerConnection).toBeLessThanOrEqual(50 * 1024);
    }
    expect(m.userBytesPerConnection).toBeGreaterThanOrEqual(0);
    expect(m.userBytesPerConnection).toBeLessThan(200 * 1024);
    // the measurement's own sockets were all there while it measured, 2 per connection; when
    // other programs' sockets moved the count meanwhile, it must say it is not certain
    const seen = m.during.sockstat.tcpInuse - m.before.sockstat.tcpInuse;
    if (seen < 2 * n * 0.95) expect(m.certainty.certain).toBe(false);
    // and are gone: nothing on its port (not even TIME_WAIT: closed with RST), no handle open
    expect(m.port).toBeGreaterThan(0);
    expect(m.leftBehind).toBe(0);
    expect(ssOnPort(m.port)).toBe(0);
    expect(process.getActiveResourcesInfo().filter((r) => /^TCP/.test(r))).toHaveLength(handles);
    // and every descriptor it opened is closed
    expect(fdsOpen()).toBeLessThanOrEqual(fds);
  });

  it('stops on abort, rejects with the reason, and closes every socket', async () => {
    const handles = tcpHandles();
    const fds = fdsOpen();
    const ac = new AbortController();
    const reason = Object.assign(new Error('stop'), { name: 'AbortError' });
    setTimeout(() => ac.abort(reason), 30);
    await expect(
      measureConnectionCost({ connections: MAX_MEASURE_CONNECTIONS, signal: ac.signal }),
    ).rejects.toBe(reason);
    expect(process.getActiveResourcesInfo().filter((r) => /^TCP/.test(r))).toHaveLength(handles);
    expect(fdsOpen()).toBeLessThanOrEqual(fds);
    // the holder (a `max` worker) has exited: no process of ours is left
    expect(descendants(process.pid).filter((p) => /scale\/worker\.js/.test(p.cmd))).toEqual([]);
  });

  it('gives up after its time bound and still closes everything', async () => {
    const handles = tcpHandles();
    await expect(measureConnectionCost({ connections: 4000, timeoutMs: 1 })).rejects.toThrow(
      /longer than 1 ms/,
    );
    expect(process.getActiveResourcesInfo().filter((r) => /^TCP/.test(r))).toHaveLength(handles);
  });

  it('refuses counts out of its bound, naming the option', async () => {
    await expect(measureConnectionCost({ connections: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(
      measureConnectionCost({ connections: MAX_MEASURE_CONNECTIONS + 1 }),
    ).rejects.toMatchObject({ option: 'connections', got: String(MAX_MEASURE_CONNECTIONS + 1) });
  });

  it('the CLI names --connections when they would not fit RLIMIT_NOFILE', () => {
    const r = spawnSync(
      'sh',
      ['-c', `ulimit -n 1000 && exec "${process.execPath}" "${BIN}" limits --connections 2000`],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /--connections must be an integer from 1 to 372 .*RLIMIT_NOFILE 1000.*\(got 2000\)/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('fourtuple limits --json', () => {
  it('prints the limits, the binding one first, and the measurement', async () => {
    const r = await cli(['limits', '--json', '--connections', '1000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const hard = sh('ulimit -Hn');
    const nofileHard = j.limits.find((l: { name: string }) => l.name === 'nofile.hard');
    expect(nofileHard).toMatchObject({ value: hard, scope: 'process' });
    expect(nofileHard.raise).toMatch(/^prlimit --pid \$\$ --nofile=\d+:\d+$/);
    for (const l of j.limits) {
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining(['name', 'value', 'ceiling', 'scope', 'raise']),
      );
      expect(['process', 'system', 'per-destination']).toContain(l.scope);
      expect(l.ceiling === null || /^\d+$/.test(l.ceiling)).toBe(true);
    }
    expect(j.binding).toBe(j.limits[0].name);
    expect(j.estimate).toBe(j.limits[0].ceiling);
    expect(j.measured.connections).toBe(1000);
    // a busy machine may make the figure uncertain: then the prediction says so and uses the
    // reference figures, so the walls below do not depend on how busy the machine is
    if (j.measured.certainty.certain) {
      expect(j.measured.kernelBytesPerConnection).toBeGreaterThan(2048);
      expect(j.perConnection.measured).toBe(true);
    } else {
      expect(j.perConnection.measured).toBe(false);
      expect(j.perConnection.fallback).toContain('not certain');
    }
    expect(j.measured.leftBehind).toBe(0);
    expect(j.answer).toContain(j.binding);
    const caps = j.readings.capabilities.value;
    if (hard === '20000' && !caps.sysResource && sh('ulimit -n') === hard) {
      // this machine: one process stops at its descriptors, the machine at memory
      expect(j.binding).toBe('nofile.hard');
      expect(j.estimate).toBe('10000');
      expect(j.answer).toContain('cannot raise');
      if (caps.sysAdmin && caps.initialUserNamespace) expect(j.machine.binding).toBe('memory');
    }
    expect(ssOnPort(j.measured.port)).toBe(0);
  });

  it('prints a table and the answer', async () => {
    const r = await cli(['limits', '--preset', 'one-client-one-server', '--connections', '500']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nofile\.hard\s+\d+/);
    expect(r.stdout).toMatch(/net\.ipv4\.ip_local_port_range\s+\d+ \d+/);
    expect(r.stdout).toContain('sysctl -w net.ipv4.ip_local_port_range="1024 65535"');
    expect(r.stdout).toMatch(/Measured: 500 established loopback connections/);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/one process can hold about [\d,]+ connections/);
  });
});
