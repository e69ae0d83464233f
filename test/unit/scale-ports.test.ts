/**
 * --port-strategy's pure parts (ports.ts) and the flat-cost figure (rates.ts): the rate from 80%
 * to 90% of the peak against the rate from 10% to 20%, read from the series.
 */
import { describe, expect, it } from 'vitest';
import { fillChart } from '../../src/report/sections/max-charts.js';
import type { MaxInput } from '../../src/report/types.js';
import { isLoopbackV4, PortCycle, rangeSlice, workerSourceIp } from '../../src/scale/ports.js';
import {
  cpuBetween,
  explainTail,
  flatCost,
  rateBetween,
  ratesByFill,
} from '../../src/scale/rates.js';
import type { Sample } from '../../src/scale/types.js';

const sample = (t: number, established: number): Sample => ({
  t,
  established,
  accepted: established,
  rate: 0,
  failures: {},
  memAvailableBytes: 0,
  slabBytes: 0,
  rssBytes: 0,
});

describe('flat cost', () => {
  it('a ramp at a constant rate has flat cost 1', () => {
    const series = Array.from({ length: 41 }, (_, k) => sample(k * 250, k * 2500));
    expect(flatCost(series, 100_000)).toEqual({
      ratePer10To20: 10_000,
      ratePer80To90: 10_000,
      ratio: 1,
    });
  });

  it('a tail at half the speed of the start has flat cost 0.5, crossings interpolated', () => {
    // 10k/s up to 50k established (5 s), then 5k/s: 80k at 11 s, 90k at 13 s
    const series = [sample(0, 0), sample(5000, 50_000), sample(15_000, 100_000)];
    expect(rateBetween(series, 100_000, 0.1, 0.2)).toBe(10_000);
    expect(rateBetween(series, 100_000, 0.8, 0.9)).toBe(5_000);
    expect(flatCost(series, 100_000).ratio).toBe(0.5);
  });

  it('the first interval starts at the ramp start with 0 established', () => {
    expect(rateBetween([sample(1000, 1000)], 1000, 0.1, 0.2)).toBe(1000);
  });

  it('a series that never reaches 90% of the peak has no tail rate and no ratio', () => {
    const series = [sample(1000, 10_000), sample(2000, 50_000)];
    expect(flatCost(series, 100_000)).toEqual({
      ratePer10To20: 40_000,
      ratePer80To90: null,
      ratio: null,
    });
  });

  it('ratesByFill gives the rate in each tenth of the fill', () => {
    const series = [sample(0, 0), sample(5000, 50_000), sample(15_000, 100_000)];
    expect(ratesByFill(series, 100_000)).toEqual([
      10_000, 10_000, 10_000, 10_000, 10_000, 5_000, 5_000, 5_000, 5_000, 5_000,
    ]);
  });
});

describe('CPU per connection along the ramp', () => {
  const cpu = (userMs: number, kernelMs: number, idleMs: number) => ({
    userMs,
    kernelMs,
    idleMs,
    stealMs: 0,
  });
  // 10k/s to 50k established with 5 us user + 20 us kernel each and no idle time, then 5k/s
  // with 5 + 40 us and `idle2` ms idle over the second stretch
  const ramp = (idle2: number): Sample[] => [
    { ...sample(5000, 50_000), cpu: cpu(250, 1000, 0) },
    { ...sample(15_000, 100_000), cpu: cpu(500, 3000, idle2) },
  ];

  it('reads the CPU per connection of a stretch, the counters interpolated at the crossings', () => {
    const series = ramp(100);
    expect(cpuBetween(series, 100_000, 0.1, 0.2)).toEqual({
      userUs: 5,
      kernelUs: 20,
      idleShare: 0,
    });
    // 10k of the second stretch's 50k: 50 ms user, 400 ms kernel, 20 ms idle
    expect(cpuBetween(series, 100_000, 0.8, 0.9)).toEqual({
      userUs: 5,
      kernelUs: 40,
      idleShare: 0.043,
    });
    expect(flatCost(series, 100_000).cpu?.per80To90?.kernelUs).toBe(40);
  });

  it('a series without CPU readings has no CPU figure', () => {
    const series = [sample(5000, 50_000), sample(15_000, 100_000)];
    expect(cpuBetween(series, 100_000, 0.1, 0.2)).toBeNull();
    expect(flatCost(series, 100_000).cpu).toBeUndefined();
  });

  it("a slower tail whose connections cost more CPU, the CPUs busy, is the kernel's cost", () => {
    const f = flatCost(ramp(100), 100_000);
    expect(f.ratio).toBe(0.5);
    const why = explainTail(f);
    expect(why).toMatch(/1\.8x the CPU .* kernel's time 2\.0x/);
    expect(why).not.toMatch(/page reporting/);
    expect(explainTail(f, 9)).toMatch(/free page reporting/);
    // the user share alone grew (5 -> 15 us, the kernel's 20 -> 22): the host's memory is not named
    const user = flatCost(
      [
        { ...sample(5000, 50_000), cpu: cpu(250, 1000, 0) },
        { ...sample(15_000, 100_000), cpu: cpu(1000, 2100, 0) },
      ],
      100_000,
    );
    expect(explainTail(user, 9)).toMatch(/1\.5x the CPU/);
    expect(explainTail(user, 9)).not.toMatch(/page reporting/);
  });

  it('a slower tail with the CPUs idle is a wait, not a cost', () => {
    // 2,000 ms idle over the second stretch: 400 of the 10k's 850 ms
    const f = flatCost(
      [
        { ...sample(5000, 50_000), cpu: cpu(250, 1000, 0) },
        { ...sample(15_000, 100_000), cpu: cpu(500, 1000 + 1000, 2000) },
      ],
      100_000,
    );
    expect(explainTail(f)).toMatch(/^the CPUs were \d+% idle/);
  });

  it("the report's fill chart says the CPU per connection and why the tail was slower", () => {
    const series = ramp(100);
    const max = {
      series,
      established: 100_000,
      timing: { rampMs: 15_000 },
      portStrategy: 'kernel',
      flatCost: flatCost(series, 100_000),
      limits: { pageReportingOrder: 9 },
    } as unknown as MaxInput;
    const { html } = fillChart(max);
    expect(html).toContain('25 us (kernel 20, user 5), CPUs 0% idle from 10% to 20%');
    expect(html).toContain('45 us (kernel 40, user 5), CPUs 4% idle from 80% to 90%');
    expect(html).toMatch(/Slower tail: each connection cost 1\.8x the CPU/);
  });

  it('a flat ramp needs no explanation', () => {
    const series = [
      { ...sample(5000, 50_000), cpu: cpu(250, 1000, 0) },
      { ...sample(10_000, 100_000), cpu: cpu(500, 3000, 0) },
    ];
    expect(flatCost(series, 100_000).ratio).toBe(1);
    expect(explainTail(flatCost(series, 100_000))).toBeUndefined();
  });
});

describe('port strategies', () => {
  it("a worker's source IP is in 127.64.0.0/10, one per pid, never 127.0.0.1", () => {
    expect(workerSourceIp(1)).toBe('127.64.0.1');
    expect(workerSourceIp(4_194_303)).toBe('127.127.255.255');
    const ips = new Set([1, 2, 256, 65_536, 4_194_303].map(workerSourceIp));
    expect(ips.size).toBe(5);
  });

  it('ip-local-port-range slices cover the range without overlap', () => {
    const range = { low: 32768, high: 60999 };
    const a = rangeSlice(0, range, 2);
    const b = rangeSlice(1, range, 2);
    expect(a).toEqual({ low: 32768, high: 46883 });
    expect(b).toEqual({ low: 46884, high: 60999 });
  });

  it('pick walks the range in order and wraps', () => {
    const c = new PortCycle({ low: 100, high: 102 });
    expect([c.take(), c.take(), c.take(), c.take()]).toEqual([100, 101, 102, 100]);
    expect(c.size).toBe(3);
  });

  it('only 127.0.0.0/8 destinations get a source of our choosing', () => {
    expect(isLoopbackV4('127.0.0.1')).toBe(true);
    expect(isLoopbackV4('127.1.2.3')).toBe(true);
    expect(isLoopbackV4('::1')).toBe(false);
    expect(isLoopbackV4('198.18.0.1')).toBe(false);
  });
});
