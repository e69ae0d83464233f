// npm run bench: fourtuple max's speed and memory against the targets (issue 7), written as JSON
// to bench/results/latest.json with the machine's description. Never part of npm test.
//
//   npm run bench                       # 1,000,000 connections (needs ~16 GB free)
//   BENCH_CONNECTIONS=200000 npm run bench
//   BENCH_ONLY=tls npm run bench        # only the TLS costs (bench/results/tls-latest.json)
//   BENCH_TLS_CONNECTIONS=2000          # connections of each TLS run (default 5,000; 0: none)
//
// Rates are also reported as a ratio to a minimal C program with epoll (bench/c/epoll_ref.c),
// built and run in the same benchmark run, with the same shape: processes of ~9,000
// connections each (both ends in the process, under the same descriptor limit), 2 x cores of
// them ramping at once.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 1_000_000);
const holdSeconds = Number(process.env.BENCH_HOLD ?? 5);
const cores = os.availableParallelism();
const log = (m) => process.stderr.write(`${m}\n`);

function machine() {
  const mem = Object.fromEntries(
    readFileSync('/proc/meminfo', 'utf8')
      .split('\n')
      .map((l) => /^(\w+):\s+(\d+)/.exec(l))
      .filter(Boolean)
      .map((m) => [m[1], Number(m[2]) * 1024]),
  );
  return {
    kernel: os.release(),
    cpus: cores,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: mem.MemTotal,
    memAvailableBytes: mem.MemAvailable,
    node: process.version,
    nofile: readFileSync('/proc/self/limits', 'utf8')
      .match(/Max open files\s+(\d+)\s+(\d+)/)
      ?.slice(1, 3)
      .map(Number),
    ephemeralRange: readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number),
    loadAverage: os.loadavg(),
  };
}

/** Builds the C reference; undefined (with the reason logged) when there is no compiler. */
function buildC() {
  const out = `${root}bench/.build/epoll_ref`;
  mkdirSync(`${root}bench/.build`, { recursive: true });
  for (const cc of ['cc', 'gcc', 'clang']) {
    const r = spawnSync(cc, ['-O2', '-o', out, `${root}bench/c/epoll_ref.c`], { encoding: 'utf8' });
    if (r.status === 0) return out;
  }
  log('no C compiler: the C reference is skipped');
  return undefined;
}

/** Runs the C reference as `procs` processes of `perProc` connections, `concurrency` at a time. */
async function runC(bin, total, perProc, concurrency) {
  const procs = Math.ceil(total / perProc);
  let next = 0;
  let established = 0;
  let rampMsSum = 0;
  const t0 = performance.now();
  const one = () =>
    new Promise((resolve, reject) => {
      const p = spawn(bin, [String(perProc), '128'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.on('close', (code) => {
        if (code !== 0) return reject(new Error(`epoll_ref exited ${code}: ${out}`));
        const r = JSON.parse(out);
        established += r.established;
        rampMsSum += r.rampMs;
        resolve();
      });
    });
  const lane = async () => {
    while (next < procs) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const ms = performance.now() - t0;
  // Like fourtuple's rate, count ramp time only (not process start and exit): `concurrency`
  // processes ramp side by side, so the ramp wall time is their summed ramp time / concurrency.
  const rampWall = rampMsSum / concurrency;
  return {
    established,
    ms: Math.round(ms),
    rampWallMs: Math.round(rampWall),
    perSec: Math.round((established / rampWall) * 1000),
    perSecWallClock: Math.round((established / ms) * 1000),
  };
}

function runFourtuple(n) {
  const out = execFileSync(
    process.execPath,
    [
      `${root}dist/cli/bin.js`,
      'max',
      '--connections',
      String(n),
      '--hold',
      `${holdSeconds}s`,
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out);
}

/**
 * Waits until /proc/net/sockstat is back near `baseline` and then a little more: the kernel
 * frees the previous run's sockets asynchronously, and a run started meanwhile shares the CPU
 * with that work. Every run, C or fourtuple, starts on a settled machine.
 */
async function settle(baseline) {
  const inuse = () =>
    Number(/TCP: inuse (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1]);
  const until = performance.now() + 30_000;
  while (inuse() > baseline + 100 && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : 0;
};

const result = { date: new Date().toISOString(), machine: machine(), benchmarks: {} };

// 0. TLS (issue 15): CPU per handshake and memory per held connection on each side, for both
// certificate kinds and with resumption, each beside the plain-TCP baseline of the same run.
const tlsN = Number(process.env.BENCH_TLS_CONNECTIONS ?? 5000);
if (tlsN > 0) {
  result.benchmarks.tls = {};
  for (const [name, args] of [
    ['ecdsa', ['--cert', 'ecdsa']],
    ['rsa2048', ['--cert', 'rsa2048']],
    ['ecdsa-resume', ['--cert', 'ecdsa', '--resume']],
  ]) {
    const out = execFileSync(
      process.execPath,
      [
        `${root}dist/cli/bin.js`,
        'max',
        '--tls',
        '--connections',
        String(tlsN),
        '--hold',
        '2s',
        '--json',
        ...args,
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const r = JSON.parse(out);
    const { run, baseline, walls, negotiated, openssl, resume, floor } = r.tls;
    const side = (f) => ({
      cpuUsPerHandshake: { server: f.server.cpuUsPerHandshake, client: f.client.cpuUsPerHandshake },
      pssBytesPerConnection: {
        server: f.server.pssBytesPerConnection,
        client: f.client.pssBytesPerConnection,
      },
      kernelBytesPerConnection: f.kernelBytesPerConnection,
      serverHandshakesPerSec: f.server.handshakesPerSec,
      established: f.established,
      alive: f.alive,
    });
    result.benchmarks.tls[name] = {
      connections: tlsN,
      negotiated,
      openssl,
      resumedShare: resume ? run.resumedShare : null,
      floor,
      tls: side(run),
      tcp: baseline ? side(baseline) : null,
      walls,
      stoppedBy: r.stoppedBy,
    };
    log(
      `max --tls ${name} ${tlsN}: ${run.alive} echoed; CPU per handshake server ${run.server.cpuUsPerHandshake} us, client ${run.client.cpuUsPerHandshake} us` +
        `${baseline ? ` (plain TCP ${baseline.server.cpuUsPerHandshake} / ${baseline.client.cpuUsPerHandshake} us)` : ''}`,
    );
  }
}
if (process.env.BENCH_ONLY === 'tls') {
  mkdirSync(`${root}bench/results`, { recursive: true });
  const file = `${root}bench/results/tls-latest.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result.benchmarks, null, 2));
  log(`wrote ${file}`);
  process.exit(0);
}
const cBin = buildC();
const concurrency = cores * 2;

// 1. Rate at a moderate size, C and fourtuple alternately, three times each (medians).
const rateN = Math.min(connections, 200_000);
const cRuns = [];
const ftRuns = [];
const baselineInuse = Number(
  /TCP: inuse (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? 0,
);
for (let i = 0; i < 3; i++) {
  if (cBin) {
    await settle(baselineInuse);
    const c = await runC(cBin, rateN, 9000, concurrency);
    cRuns.push(c.perSec);
    log(
      `C epoll reference: ${c.established} connections, ramp ${c.rampWallMs} ms = ${c.perSec}/s (${c.perSecWallClock}/s counting process start and exit)`,
    );
  }
  await settle(baselineInuse);
  const f = runFourtuple(rateN);
  ftRuns.push(f.rate.meanPerSec);
  log(
    `fourtuple max ${rateN}: ${f.established} in ${f.timing.rampMs} ms = ${f.rate.meanPerSec}/s (median of seconds ${f.rate.medianPerSec}/s)`,
  );
}
result.benchmarks.rate = {
  connections: rateN,
  fourtupleMeanPerSec: ftRuns,
  fourtupleMedianPerSec: median(ftRuns),
  cReferencePerSec: cRuns,
  cReferenceMedianPerSec: cBin ? median(cRuns) : null,
  ratioToC: cBin ? +(median(ftRuns) / median(cRuns)).toFixed(3) : null,
  target: '>= 35,000 connections/s, within 1.6x of the C program (ratio >= 0.625)',
};

// 2. The big run: every connection verified alive, memory per connection.
log(`fourtuple max --connections ${connections} (this takes a minute)...`);
await settle(baselineInuse);
const big = runFourtuple(connections);
result.benchmarks.max = {
  requested: connections,
  established: big.established,
  accepted: big.accepted,
  alive: big.alive,
  dead: big.dead,
  failures: big.failures,
  workers: big.workers,
  stoppedBy: big.stoppedBy,
  timing: big.timing,
  rate: big.rate,
  memory: big.memory,
  sockstatClean: big.sockstat.clean,
  targets: {
    connections: '1,000,000 established, accepted and verified alive, no failures',
    memory: '<= 14 KB per connection (kernel Slab + all fourtuple processes)',
  },
};
log(
  `max: ${big.established} established, ${big.alive} alive, rate ${big.rate.meanPerSec}/s, ` +
    `kernel ${(big.memory.kernelBytesPerConnection / 1024).toFixed(1)} KB + RSS ${(big.memory.processRssBytesPerConnection / 1024).toFixed(1)} KB ` +
    `(PSS ${(big.memory.processPssBytesPerConnection / 1024).toFixed(1)} KB) per connection`,
);

mkdirSync(`${root}bench/results`, { recursive: true });
const file = `${root}bench/results/latest.json`;
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.benchmarks, null, 2));
log(`wrote ${file}`);
if (!existsSync(file)) process.exit(1);
