import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.js';

/** The heavy tier (`npm run test:heavy`): tens of thousands of connections, floods, the tour. */
export default defineConfig({
  test: {
    ...shared,
    include: ['test/heavy/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
