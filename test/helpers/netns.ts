/** Tests that need network namespaces (root): skipped with the reason, but required under CI. */
import { describe, expect, it } from 'vitest';
import { canUseNetns } from '../../src/hosts/index.js';

export const netnsSupport = await canUseNetns();

/** CI runs as root: there, missing namespace support is a failure, not a skip. */
export const netnsMustRun = process.env.CI === 'true' && process.getuid?.() === 0;

/**
 * describe() for namespace tests: `title (real namespaces)` when they can run; otherwise one
 * skipped test naming the reason, or under CI as root one failing test saying why.
 */
export function describeNetns(title: string, body: () => void): void {
  if (netnsSupport.ok) {
    describe(`${title} (real namespaces)`, body);
    return;
  }
  describe(title, () => {
    if (netnsMustRun) {
      it('run under CI as root, so network namespaces must work', () => {
        expect.fail(`CI=true as root, but netns labs cannot run: ${netnsSupport.reason}`);
      });
    } else {
      it.skip(`skipped: ${netnsSupport.reason}`, () => {});
    }
  });
}
