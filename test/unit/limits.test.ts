import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../../src/cli/_output.js';
import { InvalidOptionError } from '../../src/errors.js';
import {
  type ConnectionCost,
  customShape,
  fitSlope,
  hasCapability,
  type Limit,
  type LimitsReading,
  median,
  memoryFreeForSockets,
  OPEN_NOW_SOCKETS,
  parseCapEff,
  parseFileNr,
  parseIntegers,
  parseLowWatermarkBytes,
  parseMeminfo,
  parseProcLimits,
  parseProcNetTcp,
  parseProcStatCpu,
  parseReservedPorts,
  parseSlabinfo,
  parseSmapsRollup,
  parseSockstat,
  predictLimits,
  presetShape,
  REFERENCE_COST,
  RULES,
  readLimits,
  robustSlope,
  sortLimits,
  stepSlopes,
} from '../../src/limits/index.js';
import { ownTcpMemPages } from '../../src/limits/measure.js';
import { readResult } from '../../src/report/index.js';
import { cli } from '../helpers/cli.js';

const LIMITS_TEXT = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max stack size            8388608              unlimited            bytes     
Max processes             96365                96365                processes 
Max open files            1024                 20000                files     
Max locked memory         8388608              8388608              bytes     
Max nice priority         0                    0                    
`;

const MEMINFO = `MemTotal:       24684084 kB
MemFree:        20000000 kB
MemAvailable:   24359920 kB
Slab:              82176 kB
SReclaimable:      60000 kB
HugePages_Total:       0
`;

const SOCKSTAT = `sockets: used 4020
TCP: inuse 4002 orphan 1 tw 7 alloc 4003 mem 188
UDP: inuse 0 mem 0
`;

const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1060 1 0000000085474712 100 0 0 10 0
   1: 0100007F:8000 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1061 1 0000000085474712 100 0 0 10 0
   2: 0100007F:1F90 0100007F:8000 06 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000085474712 100 0 0 10 0
`;

describe('procfs parsers', () => {
  it('parses /proc/self/limits, numbers and unlimited', () => {
    const l = parseProcLimits(LIMITS_TEXT);
    expect(l['Max open files']).toEqual({ soft: 1024, hard: 20000 });
    expect(l['Max processes']).toEqual({ soft: 96365, hard: 96365 });
    expect(l['Max stack size']).toEqual({ soft: 8388608, hard: 'unlimited' });
    expect(l['Max cpu time']).toEqual({ soft: 'unlimited', hard: 'unlimited' });
    expect(l['Max nice priority']).toEqual({ soft: 0, hard: 0 });
  });

  it('reads CapEff and tests bit 24 (CAP_SYS_RESOURCE) and bit 21 (CAP_SYS_ADMIN)', () => {
    const mask = parseCapEff(
      'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n',
    )!;
    expect(mask).toBe(0x1fffeffffffn);
    expect(hasCapability(mask, 24)).toBe(false);
    expect(hasCapability(mask, 21)).toBe(true);
    expect(hasCapability(parseCapEff('CapEff:\t0000000001000000')!, 24)).toBe(true);
    expect(parseCapEff('CapPrm:\t0000000000000000')).toBeUndefined();
  });

  it('parses /proc/meminfo into bytes', () => {
    const m = parseMeminfo(MEMINFO);
    expect(m.MemAvailable).toBe(24359920 * 1024);
    expect(m.Slab).toBe(82176 * 1024);
    expect(m.HugePages_Total).toBe(0);
  });

  it('memory free for sockets is MemAvailable less the reclaimable slab it counts', () => {
    const m = parseMeminfo(MEMINFO);
    const low = parseLowWatermarkBytes(
      'Node 0, zone      DMA\n  pages free     3840\n        min      20\n        low      25\n        high     30\nNode 0, zone   Normal\n  pages free     100\n        low      1000\n',
    );
    expect(low).toBe(1025 * 4096);
    const reclaimable = m.SReclaimable!;
    // the kernel counted SReclaimable less min(SReclaimable / 2, low); that part comes off
    expect(memoryFreeForSockets(m, low)).toBe(
      m.MemAvailable! - (reclaimable - Math.min(reclaimable / 2, low)),
    );
    // no watermark known: all of SReclaimable is taken as pinned
    expect(memoryFreeForSockets(m, 0)).toBe(m.MemAvailable! - reclaimable);
    expect(memoryFreeForSockets({ MemFree: 1 }, 0)).toBeUndefined();
    // never below zero
    expect(memoryFreeForSockets({ MemAvailable: 10, SReclaimable: 1000 }, 0)).toBe(0);
  });

  it('on this machine, memory free for sockets lies between MemFree and MemAvailable', () => {
    const m = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
    const low = parseLowWatermarkBytes(readFileSync('/proc/zoneinfo', 'utf8'));
    expect(low).toBeGreaterThan(0);
    const free = memoryFreeForSockets(m, low)!;
    expect(free).toBeLessThanOrEqual(m.MemAvailable!);
    expect(free).toBeGreaterThan(m.MemFree! * 0.5);
  });

  it('parses /proc/net/sockstat', () => {
    expect(parseSockstat(SOCKSTAT)).toEqual({
      socketsUsed: 4020,
      tcpInuse: 4002,
      tcpOrphan: 1,
      tcpTimeWait: 7,
      tcpAlloc: 4003,
      tcpMemPages: 188,
    });
    expect(parseSockstat('sockets: used 3\n')).toBeUndefined();
  });

  it("parses /proc/stat's cpu line into ms (USER_HZ 100): user+nice, system+irq+softirq, idle+iowait, steal", () => {
    const stat = 'cpu  100 2 300 4000 5 6 70 8 0 0\ncpu0 50 1 150 2000 2 3 35 4 0 0\nintr 123\n';
    expect(parseProcStatCpu(stat)).toEqual({
      userMs: 1020,
      kernelMs: 3760,
      idleMs: 40050,
      stealMs: 80,
    });
    // an old kernel without steal: 0
    expect(parseProcStatCpu('cpu 1 0 1 1 0 0 0\n')?.stealMs).toBe(0);
    expect(parseProcStatCpu('cpu0 1 2 3 4 5 6 7\n')).toBeUndefined();
    expect(parseProcStatCpu('cpu 1 2\n')).toBeUndefined();
  });

  it('counts reserved ports inside the ephemeral range only', () => {
    const range = { low: 32768, high: 60999 };
    expect(parseReservedPorts('', range)).toEqual({ text: '', total: 0, inRange: 0 });
    expect(parseReservedPorts('8080,32768-32777,60999,61000-61010\n', range)).toEqual({
      text: '8080,32768-32777,60999,61000-61010',
      total: 1 + 10 + 1 + 11,
      inRange: 11,
    });
    expect(parseReservedPorts('8080,x', range)).toBeUndefined();
    expect(parseReservedPorts('9000-8000', range)).toBeUndefined();
  });

  it('parses file-nr beyond 2^53 and whitespace triples', () => {
    expect(parseFileNr('415\t0\t9223372036854775807\n')).toEqual({
      allocated: 415n,
      free: 0n,
      max: 9223372036854775807n,
    });
    expect(parseIntegers('4096\t131072\t6291456\n', 3)).toEqual([4096, 131072, 6291456]);
    expect(parseIntegers('4096 131072', 3)).toBeUndefined();
  });

  it('parses /proc/net/tcp ports and states', () => {
    expect(parseProcNetTcp(PROC_NET_TCP)).toEqual([
      { localPort: 8080, remotePort: 0, state: 0x0a },
      { localPort: 32768, remotePort: 8080, state: 1 },
      { localPort: 8080, remotePort: 32768, state: 6 },
    ]);
  });
});

describe('readLimits on a sample /proc', () => {
  const root = mkdtempSync(join(tmpdir(), 'fourtuple-limits-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const put = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  put('proc/self/limits', LIMITS_TEXT);
  put('proc/self/status', 'CapEff:\t0000000000000000\n');
  put('proc/meminfo', MEMINFO);
  put('proc/net/sockstat', SOCKSTAT);
  put('proc/sys/net/ipv4/ip_local_port_range', '40000\t40999\n');
  put('proc/sys/net/ipv4/ip_local_reserved_ports', '40000-40009\n');
  put('proc/sys/fs/nr_open', 'garbage\n');

  it('reads what is there and says why the rest is unknown', () => {
    const r = readLimits({ root });
    expect(r.nofile).toMatchObject({ value: { soft: 1024, hard: 20000 } });
    expect(r.capabilities).toMatchObject({ value: { sysResource: false, sysAdmin: false } });
    expect(r.portRange).toMatchObject({ value: { low: 40000, high: 40999, size: 1000 } });
    expect(r.reservedPorts).toMatchObject({ value: { inRange: 10 } });
    expect(r.memory).toMatchObject({ value: { slabBytes: 82176 * 1024 } });
    expect(r.somaxconn).toMatchObject({ value: 'unknown' });
    expect((r.somaxconn as { reason: string }).reason).toContain('not present');
    expect((r.nrOpen as { reason: string }).reason).toContain('unexpected contents "garbage"');
    expect((r.conntrack as { reason: string }).reason).toContain('conntrack not loaded');
  });

  it('predicts with unknown figures: they never bind and say unknown', () => {
    const r = predictLimits(presetShape('one-client-one-server'), {
      readings: readLimits({ root }),
    });
    const somax = r.limits.find((l) => l.name === 'net.core.somaxconn')!;
    expect(somax.value).toMatch(/^unknown: .*not present/);
    expect(somax.ceiling).toBeNull();
    // soft 1024 < hard 20000: the soft limit binds, and any process may raise it
    expect(r.binding).toBe('nofile.soft');
    expect(r.estimate).toBe(512n);
    expect(r.limits[0]!.raise).toBe('ulimit -n 20000');
    expect(r.limits[0]!.raisable).toBe(true);
    // 1000 ports less 10 reserved
    expect(r.limits.find((l) => l.name === 'net.ipv4.ip_local_port_range')!.ceiling).toBe(990n);
    expect(r.machine.binding).toBe('net.ipv4.ip_local_port_range');
  });
});

/** A reading of a machine like the development one: nofile 20000/20000, no CAP_SYS_RESOURCE. */
function reading(overrides: Partial<LimitsReading> = {}): LimitsReading {
  const src = '/proc/test';
  return {
    pid: 4242,
    nofile: { value: { soft: 20000, hard: 20000 }, source: src },
    nproc: { value: { soft: 96365, hard: 96365 }, source: src },
    capabilities: {
      value: { sysResource: false, sysAdmin: false, initialUserNamespace: true, effective: '0' },
      source: src,
    },
    nrOpen: { value: 1048576, source: src },
    fileMax: { value: 2466170n, source: src },
    fileNr: { value: { allocated: 2170n, free: 0n, max: 2466170n }, source: src },
    portRange: { value: { low: 32768, high: 60999, size: 28232, source: src }, source: src },
    reservedPorts: { value: { text: '', total: 0, inRange: 0 }, source: src },
    somaxconn: { value: 4096, source: src },
    tcpMaxSynBacklog: { value: 2048, source: src },
    tcpMem: { value: { low: 287898, pressure: 383867, high: 575796, pageSize: 4096 }, source: src },
    tcpRmem: { value: { min: 4096, default: 131072, max: 33554432 }, source: src },
    tcpWmem: { value: { min: 4096, default: 16384, max: 4194304 }, source: src },
    tcpTwReuse: { value: 2, source: src },
    tcpFinTimeout: { value: 60, source: src },
    conntrack: { value: 'unknown', reason: 'not loaded', source: src },
    memory: {
      value: {
        totalBytes: 24 * 2 ** 30,
        availableBytes: 20 * 2 ** 30,
        memAvailableBytes: 20 * 2 ** 30 + 40 * 2 ** 20,
        slabBytes: 80 * 2 ** 20,
      },
      source: src,
    },
    cgroupMemory: { value: { limitBytes: 'unlimited', usageBytes: 0 }, source: src },
    cores: 2,
    sockstat: {
      value: {
        socketsUsed: 10,
        tcpInuse: 1,
        tcpOrphan: 0,
        tcpTimeWait: 0,
        tcpAlloc: 1,
        tcpMemPages: 0,
      },
      source: src,
    },
    writableSysctls: {},
    ...overrides,
  };
}

function cost(overrides: Partial<ConnectionCost> = {}): ConnectionCost {
  const sample = {
    slabBytes: 0,
    memAvailableBytes: 0,
    rssBytes: 0,
    sockstat: {
      socketsUsed: 0,
      tcpInuse: 0,
      tcpOrphan: 0,
      tcpTimeWait: 0,
      tcpAlloc: 0,
      tcpMemPages: 0,
    },
    conntrackCount: null,
    pssBytes: 0,
    t: 0,
  };
  return {
    connections: 2000,
    holder: 'test',
    kernelBytesPerConnection: 8000,
    kernelBytesPerConnectionSteps: [8000],
    userBytesPerConnection: 2000,
    memAvailableBytesPerConnection: 12000,
    tcpMemPagesPerConnection: 0,
    conntrackEntriesPerConnection: 0,
    holderBaselineBytes: 50_000_000,
    attempts: 1,
    certainty: {
      certain: true,
      kernelStderrBytes: 80,
      relativeError: 0.01,
      idleSlabDriftBytes: 0,
      stepSlabBytes: 2_000_000,
      otherSockets: 0,
      reasons: [],
    },
    before: sample,
    during: sample,
    after: sample,
    port: 1,
    leftBehind: 0,
    durationMs: 1,
    method: 'test',
    ...overrides,
  };
}

const byName = (limits: Limit[], name: string): Limit => limits.find((l) => l.name === name)!;

describe('predictLimits', () => {
  it('one client, one server: nofile.hard binds one process at 20000/2, ports bind the machine', () => {
    const r = predictLimits(presetShape('one-client-one-server'), {
      readings: reading(),
      measured: cost(),
    });
    expect(r.binding).toBe('nofile.hard');
    expect(r.estimate).toBe(10000n);
    expect(r.limits[0]).toMatchObject({
      name: 'nofile.hard',
      value: '20000',
      ceiling: 10000n,
      scope: 'process',
      raise: 'prlimit --pid $$ --nofile=1048576:1048576',
      raisable: false,
    });
    expect(r.machine).toMatchObject({
      binding: 'net.ipv4.ip_local_port_range',
      estimate: 28232n,
      processes: 3n,
    });
    // `max`'s guard is said only where memory is the wall
    expect(r.answer).not.toContain('memory guard');
    expect(byName(r.limits, 'net.ipv4.ip_local_port_range').raise).toBe(
      'sysctl -w net.ipv4.ip_local_port_range="1024 65535"',
    );
    expect(r.answer).toContain('about 10,000 connections');
    expect(r.answer).toContain('cannot raise');
    expect(r.answer).toContain('28,232');
  });

  it('many IPs: memory is the machine wall, at MemAvailable / per-connection cost', () => {
    const r = predictLimits(presetShape('many-ips'), { readings: reading(), measured: cost() });
    const perConnection = 8000 + 2000 + Math.round(50_000_000 / 10000);
    expect(r.perConnection.totalBytes).toBe(perConnection);
    const mem = BigInt(Math.floor((20 * 2 ** 30) / perConnection));
    expect(byName(r.limits, 'memory').ceiling).toBe(mem);
    expect(r.machine.binding).toBe('fs.file-max'); // (2466170 - 2170) / 2 = 1232000 < mem
    expect(byName(r.limits, 'fs.file-max').ceiling).toBe(1232000n);
    // with CAP_SYS_ADMIN in the initial user namespace, file-max is not enforced
    const admin = predictLimits(presetShape('many-ips'), {
      readings: reading({
        capabilities: {
          value: { sysResource: false, sysAdmin: true, initialUserNamespace: true, effective: '0' },
          source: 'x',
        },
      }),
      measured: cost(),
    });
    expect(byName(admin.limits, 'fs.file-max').applies).toBe(false);
    expect(admin.machine.binding).toBe('memory');
    expect(admin.machine.estimate).toBe(mem);
    expect(admin.machine.processes).toBe((mem + 9999n) / 10000n);
    // `max` stops where its memory guard keeps 10% of the 24 GiB free (2.4 GiB)
    const floor = Math.round(24 * 2 ** 30 * 0.1);
    const guarded = BigInt(Math.floor((20 * 2 ** 30 - floor) / perConnection));
    expect(admin.machine.maxGuard).toEqual({ floorBytes: floor, connections: guarded });
    expect(admin.answer).toContain(
      `\`fourtuple max\` stops at about ${guarded.toLocaleString('en-US')}: its memory guard keeps 2.4 GiB free.`,
    );
    expect(byName(admin.limits, 'net.ipv4.ip_local_port_range').ceiling).toBe(28232n * 254n);
  });

  it("memory the wall beside other programs' sockets: says what closing them would free", () => {
    const admin = {
      capabilities: {
        value: { sysResource: false, sysAdmin: true, initialUserNamespace: true, effective: '0' },
        source: 'x',
      },
    } as const;
    const sockstat = (tcpInuse: number) => ({
      sockstat: {
        value: {
          socketsUsed: tcpInuse,
          tcpInuse,
          tcpOrphan: 0,
          tcpTimeWait: 0,
          tcpAlloc: tcpInuse,
          tcpMemPages: 0,
        },
        source: 'x',
      },
    });
    const busy = predictLimits(presetShape('many-ips'), {
      readings: reading({ ...admin, ...sockstat(400_000) }),
      measured: cost(),
    });
    expect(busy.machine.binding).toBe('memory');
    // 400,000 sockets at half a connection's 8,000 B of kernel memory, over 15,000 B a connection
    const more = BigInt(Math.floor((400_000 * 4000) / 15_000));
    expect(busy.machine.openNow).toEqual({ tcpSockets: 400_000, moreIfClosed: more });
    expect(busy.answer).toContain(
      `Other programs hold 400,000 TCP sockets now: their memory is not free, and were they closed about ${more.toLocaleString('en-US')} more would fit.`,
    );
    // a few sockets, or a wall that is not memory: not said
    const quiet = predictLimits(presetShape('many-ips'), {
      readings: reading({ ...admin, ...sockstat(OPEN_NOW_SOCKETS - 1) }),
      measured: cost(),
    });
    expect(quiet.machine.openNow).toBeUndefined();
    expect(quiet.answer).not.toContain('Other programs');
    const files = predictLimits(presetShape('many-ips'), {
      readings: reading(sockstat(400_000)),
      measured: cost(),
    });
    expect(files.machine.binding).toBe('fs.file-max');
    expect(files.machine.openNow).toBeUndefined();
  });

  it('a measurement whose Slab did not grow falls back, and its saved result reads back', () => {
    const flat = cost({
      kernelBytesPerConnection: -120,
      certainty: {
        certain: false,
        kernelStderrBytes: 900,
        relativeError: null,
        idleSlabDriftBytes: 0,
        stepSlabBytes: -240_000,
        otherSockets: 0,
        reasons: ['Slab did not grow (-120 B per connection)'],
      },
    });
    const r = predictLimits(presetShape('many-ips'), { readings: reading(), measured: flat });
    expect(r.perConnection.measured).toBe(false);
    expect(r.perConnection.fallback).toContain('Slab did not grow');
    // as `limits --json` writes it, and as `fourtuple report` reads it
    const saved = JSON.parse(toJson(r));
    expect(saved.measured.certainty.relativeError).toBeNull();
    expect(() => readResult(saved)).not.toThrow();
  });

  it('a cgroup limit below MemAvailable lowers the memory ceiling', () => {
    const r = predictLimits(presetShape('many-ips'), {
      readings: reading({
        cgroupMemory: { value: { limitBytes: 2 ** 30, usageBytes: 2 ** 29 }, source: 'x' },
      }),
      measured: cost(),
    });
    expect(byName(r.limits, 'memory').ceiling).toBe(BigInt(Math.floor(2 ** 29 / 15000)));
    expect(byName(r.limits, 'memory').value).toContain('cgroup');
    // `max` in that cgroup keeps a quarter of the cgroup's limit free, not 10% of the machine's
    expect(r.machine.maxGuard).toEqual({
      floorBytes: 2 ** 28,
      connections: BigInt(Math.floor((2 ** 29 - 2 ** 28) / 15000)),
    });
  });

  it('server side: one descriptor per connection, half the kernel cost, ports do not apply', () => {
    const r = predictLimits(presetShape('server-side'), { readings: reading(), measured: cost() });
    expect(r.estimate).toBe(20000n);
    expect(r.perConnection).toMatchObject({ descriptors: 1, kernelBytes: 4000, userBytes: 1000 });
    const ports = byName(r.limits, 'net.ipv4.ip_local_port_range');
    expect(ports.applies).toBe(false);
    expect(ports.ceiling).toBeNull();
  });

  it('custom shape: ports multiply by source IPs and destinations, less reserved ports', () => {
    const r = predictLimits(customShape(3n, 5n), {
      readings: reading({
        reservedPorts: { value: { text: '', total: 232, inRange: 232 }, source: 'x' },
      }),
      measured: cost(),
    });
    expect(byName(r.limits, 'net.ipv4.ip_local_port_range').ceiling).toBe(28000n * 15n);
    expect(byName(r.limits, 'net.ipv4.ip_local_port_range').raise).toContain(
      'net.ipv4.ip_local_reserved_ports=""',
    );
    expect(byName(r.limits, 'net.core.somaxconn').ceiling).toBe(4096n * 5n);
    expect(() => customShape(0n, 1n)).toThrow(InvalidOptionError);
    expect(() => customShape(1n, 0n)).toThrow(
      expect.objectContaining({ option: 'destinations', expected: 'at least 1', got: '0' }),
    );
  });

  it('conntrack binds only when the measurement saw loopback flows tracked', () => {
    const ct = { conntrack: { value: { max: 5000, count: 100 }, source: 'x' } } as const;
    const tracked = predictLimits(presetShape('many-ips'), {
      readings: reading(ct),
      measured: cost({ conntrackEntriesPerConnection: 1 }),
    });
    expect(tracked.machine).toMatchObject({
      binding: 'net.netfilter.nf_conntrack_max',
      estimate: 4900n,
    });
    const untracked = predictLimits(presetShape('many-ips'), {
      readings: reading(ct),
      measured: cost({ conntrackEntriesPerConnection: 0 }),
    });
    expect(byName(untracked.limits, 'net.netfilter.nf_conntrack_max').applies).toBe(false);
    expect(untracked.machine.binding).not.toBe('net.netfilter.nf_conntrack_max');
  });

  it('tcp_mem bounds connections only when they hold buffer pages', () => {
    const r = predictLimits(presetShape('many-ips'), {
      readings: reading(),
      measured: cost({ tcpMemPagesPerConnection: 2 }),
    });
    expect(byName(r.limits, 'net.ipv4.tcp_mem').ceiling).toBe(287898n);
    const idle = predictLimits(presetShape('many-ips'), { readings: reading(), measured: cost() });
    expect(byName(idle.limits, 'net.ipv4.tcp_mem').ceiling).toBeNull();
  });

  it('without a measurement uses the reference figures and says so', () => {
    const r = predictLimits(presetShape('many-ips'), { readings: reading() });
    expect(r.measured).toBeNull();
    expect(r.perConnection.measured).toBe(false);
    expect(byName(r.limits, 'memory').note).toContain('not measured');
  });

  it('sorts candidates by ceiling, binding first, the rest after', () => {
    const r = predictLimits(presetShape('many-ips'), { readings: reading(), measured: cost() });
    const c = r.limits.filter((l) => l.kind === 'concurrent' && l.applies && l.ceiling !== null);
    expect(r.limits.slice(0, c.length)).toEqual(c);
    for (let i = 1; i < c.length; i++) expect(c[i]!.ceiling! >= c[i - 1]!.ceiling!).toBe(true);
    expect(r.binding).toBe(r.limits[0]!.name);
    expect(r.estimate).toBe(r.limits[0]!.ceiling);
    expect(
      sortLimits([...r.limits].reverse())
        .map((l) => l.name)
        .slice(0, c.length),
    ).toEqual(c.map((l) => l.name));
  });
});

describe('an uncertain measurement', () => {
  const uncertain = cost({
    kernelBytesPerConnection: 372_920,
    tcpMemPagesPerConnection: 3,
    certainty: {
      certain: false,
      kernelStderrBytes: 150_000,
      relativeError: 0.4,
      idleSlabDriftBytes: 9_000_000,
      stepSlabBytes: 2_000_000,
      otherSockets: 0,
      reasons: ['the steps disagree (standard error 40%)'],
    },
  });

  it('is not used: the prediction falls back to the reference figures and says why', () => {
    const r = predictLimits(presetShape('many-ips'), { readings: reading(), measured: uncertain });
    expect(r.perConnection).toMatchObject({
      measured: false,
      kernelBytes: REFERENCE_COST.kernelBytesPerConnection,
      userBytes: REFERENCE_COST.userBytesPerConnection,
      holderBaselineBytes: REFERENCE_COST.holderBaselineBytes,
    });
    expect(r.perConnection.fallback).toContain('the steps disagree');
    expect(byName(r.limits, 'memory').note).toContain('not certain');
    // its noisy tcp_mem pages do not make tcp_mem a wall either (issue 19)
    expect(byName(r.limits, 'net.ipv4.tcp_mem').ceiling).toBeNull();
    // the same walls as with no measurement at all
    const none = predictLimits(presetShape('many-ips'), { readings: reading() });
    expect(r.machine).toEqual(none.machine);
    expect(r.measured).toBe(uncertain);
  });
});

describe('the rules table', () => {
  it('has one rule per limit, each evaluated into a limit of its own name', () => {
    const names = RULES.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
    const r = predictLimits(presetShape('many-ips'), { readings: reading(), measured: cost() });
    expect(r.limits.map((l) => l.name).sort()).toEqual([...names].sort());
  });

  it('says a limit can be raised only when its own sysctl is writable', () => {
    const writable = predictLimits(presetShape('many-ips'), {
      readings: reading({
        somaxconn: { value: 4096, source: '/proc/sys/net/core/somaxconn' },
        writableSysctls: { '/proc/sys/net/core/somaxconn': true },
      }),
    });
    expect(byName(writable.limits, 'net.core.somaxconn').raisable).toBe(true);
    // the other sysctls, read from other paths, stay unraisable
    expect(byName(writable.limits, 'fs.file-max').raisable).toBe(false);
    expect(byName(writable.limits, 'net.ipv4.tcp_fin_timeout').raisable).toBe(false);
  });
});

describe('slope arithmetic', () => {
  it('fits a line and gives its standard error', () => {
    const exact = fitSlope([0, 1, 2, 3], [10, 18, 26, 34]);
    expect(exact.slope).toBe(8);
    expect(exact.stderr).toBe(0);
    const noisy = fitSlope([0, 1, 2, 3], [10, 19, 25, 34]);
    expect(noisy.slope).toBeCloseTo(7.8, 5);
    expect(noisy.stderr).toBeGreaterThan(0);
    expect(fitSlope([1, 1], [2, 3]).slope).toBeNaN();
    expect(stepSlopes([0, 2, 4], [0, 10, 30])).toEqual([5, 10]);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('takes the median step, so one step spoilt by another program does not move it', () => {
    const xs = [0, 100, 200, 300, 400, 500, 600];
    // steps of 8000, 8100, 7900, 8050, 7950, 8000 bytes per connection
    const steady = [0, 800_000, 1_610_000, 2_400_000, 3_205_000, 4_000_000, 4_800_000];
    // the same with a burst of 1.1 MB from another program during the fourth step
    const spoilt = steady.map((y, i) => (i >= 4 ? y + 1_100_000 : y));
    expect(robustSlope(xs, steady).slope).toBe(8000);
    const robust = robustSlope(xs, spoilt);
    expect(robust.slope).toBe(8000);
    expect(robust.stderr / robust.slope).toBeLessThan(0.05);
    // where a fitted line is pulled well off
    expect(fitSlope(xs, spoilt).slope).toBeGreaterThan(8500);
  });

  it('parses slabinfo: objects in use and slab bytes per object', () => {
    const text = [
      'slabinfo - version: 2.1',
      '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>',
      'TCP                69420  69420   2368   13    8 : tunables    0    0    0 : slabdata   5340   5340      0',
      'proc_inode_cache  402101 402178    696   23    4 : tunables    0    0    0 : slabdata  17486  17486      0',
      'dentry            180411 180411    192   21    1 : tunables    0    0    0 : slabdata   8591   8591      0',
    ].join('\n');
    const caches = parseSlabinfo(text);
    expect([...caches.keys()]).toEqual(['TCP', 'proc_inode_cache', 'dentry']);
    expect(caches.get('proc_inode_cache')).toEqual({ active: 402101, bytesPerObject: 16384 / 23 });
    expect(caches.get('TCP')!.bytesPerObject).toBeCloseTo(32768 / 13, 6);
    expect(caches.get('dentry')!.bytesPerObject).toBeCloseTo(4096 / 21, 6);
  });

  it('parses smaps_rollup', () => {
    expect(parseSmapsRollup('Rss:  2048 kB\nPss:  1024 kB\nShared_Clean: 5 kB\n')).toEqual({
      rssBytes: 2048 * 1024,
      pssBytes: 1024 * 1024,
    });
    expect(parseSmapsRollup('Rss: 1 kB\n')).toBeUndefined();
    // Anonymous (not Pss_Anon, not AnonHugePages) is the process's own memory
    const rollup =
      'Rss: 40432 kB\nPss: 7710 kB\nPss_Anon: 6000 kB\nAnonymous: 6324 kB\nAnonHugePages: 0 kB\n';
    expect(parseSmapsRollup(rollup)).toEqual({
      rssBytes: 40432 * 1024,
      pssBytes: 7710 * 1024,
      anonBytes: 6324 * 1024,
    });
  });
});

describe('fourtuple limits: flags', () => {
  const bad: [string[], RegExp][] = [
    [['--preset', 'lots'], /--preset must be one of one-client-one-server, many-ips, server-side/],
    [['--from-ips', '0'], /--from-ips must be an integer from 1 to 4294967296/],
    [['--to', '127.0.0.1:0'], /--to must be IP:PORT .* port from 1 to 65535/],
    [['--to', 'localhost:80'], /--to must be IP:PORT/],
    [['--to', '0'], /--to must be an integer from 1 to/],
    [['--preset', 'many-ips', '--to', '3'], /--preset and --to cannot be used together/],
    [['--connections', '50'], /--connections must be an integer from 100 to 8000/],
    [['--connections', '9000'], /--connections must be an integer from 100 to 8000/],
    [['--no-measure', '--connections', '500'], /--no-measure and --connections cannot be used/],
    [['--frobnicate'], /unknown option --frobnicate/],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${args.join(' ')} with exit 2 and one line`, async () => {
      const r = await cli(['limits', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('--help describes every flag', async () => {
    const r = await cli(['limits', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--preset', '--from-ips', '--to', '--no-measure', '--connections', '--json']) {
      expect(r.stdout).toContain(f);
    }
  });

  it('--to with a list of loopback endpoints counts distinct destinations', async () => {
    const r = await cli([
      'limits',
      '--no-measure',
      '--json',
      '--from-ips',
      '2',
      '--to',
      '127.0.0.1:8080,127.0.0.2:8080,127.0.0.1:8080',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.shape).toMatchObject({
      name: 'custom',
      fromIps: '2',
      destinations: '2',
      bothEndsLocal: true,
    });
    expect(j.measured).toBeNull();
  });
});

describe('ownTcpMemPages', () => {
  it('is the median step only when every step agrees; pages that come and go are another program’s', () => {
    expect(ownTcpMemPages([0, 0, 0, 0])).toBe(0);
    expect(ownTcpMemPages([1, 1.2, 0.9, 1])).toBe(1);
    // another program's traffic between steps: up one step, down the next
    expect(ownTcpMemPages([2.1, -1.5, 0.45, 0.6])).toBe(0);
    expect(ownTcpMemPages([0.9, 0.1, 1, 1])).toBe(0);
    expect(ownTcpMemPages([])).toBe(0);
  });
});
