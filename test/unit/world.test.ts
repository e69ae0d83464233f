/** Worlds of their own: their ranges, why one cannot run, a sysctl that cannot be set (no root needed). */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/experiments/index.js';
import {
  configureWorld,
  WORLD_FIRST_PORT,
  worldRange,
  worldSkipReason,
} from '../../src/experiments/world.js';

describe('worlds', () => {
  it('a world of K ports starts at WORLD_FIRST_PORT', () => {
    expect(worldRange({ ports: 1, autobindReuse: 0, via: 'sysctl' })).toEqual([
      WORLD_FIRST_PORT,
      WORLD_FIRST_PORT,
    ]);
    expect(worldRange({ ports: 8, autobindReuse: 0, via: 'socket' })).toEqual([
      WORLD_FIRST_PORT,
      WORLD_FIRST_PORT + 7,
    ]);
  });

  it('a world experiment without its namespace is skipped with the reason; others never are', () => {
    const world = CATALOGUE.find((e) => e.world)!;
    const plain = CATALOGUE.find((e) => !e.world)!;
    expect(worldSkipReason(world, { skip: 'not root (uid 1000)' })).toBe('not root (uid 1000)');
    expect(worldSkipReason(world, undefined)).toMatch(/no world namespace/);
    expect(worldSkipReason(plain, { skip: 'not root' })).toBeUndefined();
  });

  it('a namespace whose sysctls cannot be set gives a NOT-SET step with the reason', () => {
    const step = configureWorld('/nonexistent/netns', {
      ports: 1,
      autobindReuse: 1,
      via: 'sysctl',
    });
    expect(step).toMatchObject({ socket: 'ns', op: 'sysctl', result: 'NOT-SET' });
    expect(step.options).toEqual([
      `net.ipv4.ip_local_port_range=${WORLD_FIRST_PORT} ${WORLD_FIRST_PORT}`,
      'net.ipv4.ip_autobind_reuse=1',
    ]);
    expect(step.detail).toMatch(/ENOENT/);
  });
});
