import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/loopback/**/*.test.ts', 'test/netns/**/*.test.ts'],
    // Socket tests share one kernel and its port space: run files one at a time so a test's
    // listeners and TIME_WAIT never meet another file's. Unit tests are fast either way.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
