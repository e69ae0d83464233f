import { defineConfig } from 'vitest/config';

/**
 * The fast tier (`npm test`): unit, loopback and netns tests, a few minutes on 2 cores.
 * The heavy tier (`npm run test:heavy`, vitest.heavy.config.ts) holds the runs of tens of
 * thousands of connections, floods and the tour under signals; CI runs both.
 */
export const shared = {
  // Socket tests share one kernel and its port space: run files one at a time so a test's
  // listeners and TIME_WAIT never meet another file's. Unit tests are fast either way.
  fileParallelism: false,
  // Timeouts catch hangs, not slowness: beside another CPU-heavy program (issue 19: a max of
  // 200,000 connections in a loop) a test that takes 10 s on a quiet machine took 47.
  testTimeout: 90_000,
  hookTimeout: 90_000,
  // Quiet unless a test fails: a failing test's console output is still shown.
  silent: 'passed-only' as const,
};

export default defineConfig({
  test: {
    ...shared,
    include: ['test/unit/**/*.test.ts', 'test/loopback/**/*.test.ts', 'test/netns/**/*.test.ts'],
  },
});
