/** `listen --workers auto`: how many processes, from the ephemeral range and one's budget. */
import { describe, expect, it } from 'vitest';
import { autoListenerWorkers } from '../../src/endpoints/listener-group.js';

describe('autoListenerWorkers', () => {
  it("holds one client address's every ephemeral port with a quarter to spare, at least 2", () => {
    // this machine: 28,232 ports, ~19,947 connections a process -> 35,290 / 19,947
    expect(autoListenerWorkers(19_947, 28_232)).toBe(2);
    // the widest range (1024-65535) needs 5 at that budget
    expect(autoListenerWorkers(19_947, 64_512)).toBe(5);
    // a process with 1,000 descriptors: 36 of them
    expect(autoListenerWorkers(1000, 28_232)).toBe(36);
    // a tiny range still gets a group, not a single process
    expect(autoListenerWorkers(19_947, 100)).toBe(2);
  });

  it('for any budget and range, the group holds the range with headroom', () => {
    for (const budget of [1, 7, 500, 19_947, 1_000_000]) {
      for (const ports of [1, 1000, 28_232, 64_512]) {
        const n = autoListenerWorkers(budget, ports);
        expect(n * budget).toBeGreaterThanOrEqual(ports * 1.25);
        expect(n).toBeGreaterThanOrEqual(2);
      }
    }
  });
});
