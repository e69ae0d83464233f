/**
 * "No crash on any input": random argv to the CLI entry point. Every run gets an AbortSignal
 * that is already aborted, so an argv that happens to be valid starts its command and stops at
 * once (exit 130, nothing opened, nothing left) instead of opening connections or namespaces;
 * an invalid one must fail validation first (exit 2, one line naming the flag). Either way the
 * exit code is 0, 1, 2 (or 130 for a valid run we interrupted) and stderr holds no stack trace.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { commandSpec } from '../../src/cli/_command.js';
import { COMMANDS } from '../../src/cli/main.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fourtuple-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const flagNames = [...new Set(COMMANDS.flatMap((c) => Object.keys(c.options)))];
/** Every short alias a spec declares (-n, -m, -p, -o, -h). */
const shorts = [
  ...new Set(COMMANDS.flatMap((c) => Object.values(commandSpec(c)).map((o) => o.short))),
].filter((s) => s !== undefined);

/** Values a flag might be given: numbers in and out of range, addresses, durations, junk. */
const value = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.constantFrom('0', '-1', '1e3', '0x10', '1.5', '99999999999999999999999999', 'NaN', ''),
  fc.constantFrom(
    '127.0.0.1:7',
    '[::1]:7',
    '127.0.0.1:0',
    '0.0.0.0:80',
    '[::]:80',
    '198.18.0.1:80',
  ),
  fc.constantFrom('0.0.0.0', '::', '127.0.0.1', '127.0.0.999', 'localhost', '::ffff:127.0.0.1'),
  fc.constantFrom('5s', '10ms', '-1s', '1h', '25h', '2G', '512M', '1T', 'auto', 'ipv4', 'ipv6'),
  fc.constantFrom('loopback', 'netns', 'max', 'theory', 'one-client-one-server', 'bogus'),
  fc.constantFrom(join(dir, 'out.html'), join(dir, 'missing.json'), join(dir, 'g.svg')),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** One argv token: a known flag (maybe negated or =joined), a value, or a stray word. */
const token = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...flagNames).map((f) => `--${f}`) },
  { weight: 1, arbitrary: fc.constantFrom(...flagNames).map((f) => `--no-${f}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...flagNames), value).map(([f, v]) => `--${f}=${v}`),
  },
  { weight: 4, arbitrary: value },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...shorts.map((s) => `-${s}`), '--', '-', '--json', '--x'),
  },
);

const argv = fc.tuple(
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...COMMANDS.map((c) => [c.name])) },
    { weight: 1, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => [s]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(['hosts', 'up'], ['hosts', 'down'], ['hosts', 'list']),
    },
  ),
  fc.array(token, { maxLength: 7 }),
);

describe('random argv to the CLI entry point', () => {
  it('exits 0, 1, 2 (or 130 when a valid run is interrupted at once) and never prints a stack trace', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(argv, async ([head, rest]) => {
        const args = [...head, ...rest].filter((a) => a !== '--debug');
        const ac = new AbortController();
        ac.abort(Object.assign(new Error('interrupted by the test'), { name: 'AbortError' }));
        const r = await cli(args, ac.signal);
        seen.set(r.code, (seen.get(r.code) ?? 0) + 1);
        expect([0, 1, 2, 130]).toContain(r.code);
        expect(r.stderr).not.toMatch(/\n\s+at \S/);
        expect(r.stderr).not.toMatch(/TypeError|RangeError|SyntaxError|ReferenceError/);
        // every failure is one we meant: a usage error or a named error, never an accident
        expect(r.stderr).not.toMatch(/unexpected error/);
        if (r.code === 2) {
          expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
          expect(r.stderr).toMatch(/^fourtuple( \S+)?: /);
        }
      }),
      { numRuns: 400, timeout: 10_000 },
    );
    console.log('exit codes seen:', Object.fromEntries(seen));
    // The generator reaches both sides: bad input, and valid runs stopped at once.
    expect(seen.get(2)).toBeGreaterThan(100);
    // Nothing was written but inside the scratch directory, and only by a valid run.
    for (const f of readdirSync(dir)) expect(['out.html', 'g.svg']).toContain(f);
  }, 120_000);
});

describe('what parseArgs lets through is refused', () => {
  it.each([
    [
      ['theory', '--machines', '2', '--machines', '3', '--ports', '3'],
      /^fourtuple theory: --machines is given more than once$/,
    ],
    [['theory', '-n', '2', '--machines=3', '-m', '3'], /--machines is given more than once/],
    [['theory', '--no-json', '-n', '2', '-m', '3'], /unknown option --no-json/],
    [['demo', '--no-list'], /unknown option --no-list/],
    [
      ['listen', '--reuseaddr', '--no-reuseaddr'],
      /--reuseaddr and --no-reuseaddr cannot be used together/,
    ],
  ])('fourtuple %j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd()).toMatch(message);
  });

  it('a documented --no- form and a repeatable flag still work', async () => {
    const r = await cli([
      'tour',
      '--skip',
      'demo,prove',
      '--skip',
      'limits',
      '--skip',
      'max,tls',
      '--out',
      join(dir, 'theory.html'),
    ]);
    expect(r.code).toBe(0);
    const l = await cli(['limits', '--no-measure', '--json']);
    expect(l.code).toBe(0);
    expect(JSON.parse(l.stdout).measured).toBeFalsy();
  });
});
