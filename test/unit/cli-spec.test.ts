/**
 * The one spec per command: every option it declares is in its --help (alias, placeholder,
 * range, default), argv is split strictly from parseArgs's tokens, and a library option the
 * library refuses is named by the flag that sets it.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { commandSpec } from '../../src/cli/_command.js';
import { fieldOf, type OptionDef } from '../../src/cli/_spec.js';
import { COMMANDS, invalidOptionMessage, reportError } from '../../src/cli/main.js';
import { InvalidOptionError } from '../../src/errors.js';
import { cli } from '../helpers/cli.js';

/** What --help must show of an option's range: "1 to 65535", "10ms to 1h". */
function rangeStart(o: OptionDef): string | undefined {
  if (o.type === 'int') return `${o.min} to `;
  if (o.type === 'bigint') return `${o.min} to `;
  if (o.type === 'duration' || o.type === 'size') return ' to ';
  return undefined;
}

describe('--help is generated from the spec', () => {
  it('`fourtuple --help` lists every command with its summary', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name.padEnd(width)}  ${c.summary}`);
  });

  for (const c of COMMANDS) {
    it(`fourtuple ${c.name} --help shows every option of its spec, with alias, range and default`, async () => {
      const r = await cli([c.name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^Usage: fourtuple (\\[tour\\]|${c.name})`));
      const flat = r.stdout.slice(r.stdout.indexOf('\nOptions:\n')).replace(/\s+/g, ' ');
      for (const [name, o] of Object.entries(commandSpec(c))) {
        const line = flat.slice(flat.indexOf(`--${name}`));
        expect(flat, name).toContain(`--${name}`);
        if (o.short) expect(flat, name).toContain(`-${o.short}, --${name}`);
        if (o.type === 'boolean' && o.negatable) expect(flat, name).toContain(`--no-${name}`);
        const range = rangeStart(o);
        if (range) expect(line.slice(0, 400), name).toContain(range);
        if ('default' in o && typeof o.default === 'number' && o.type === 'int') {
          expect(line.slice(0, 400), name).toContain(`default ${o.default}`);
        }
        if (o.type === 'choice') expect(line, name).toContain(o.choices.join('|'));
      }
      if (c.json !== false) expect(flat).toContain('--json');
    });
  }

  it('`-h` and `fourtuple help NAME` print the same text as --help', async () => {
    const a = await cli(['prove', '--help']);
    expect((await cli(['prove', '-h'])).stdout).toBe(a.stdout);
    expect((await cli(['help', 'prove'])).stdout).toBe(a.stdout);
  });

  it('every option of a command sets a different library field', () => {
    for (const c of COMMANDS) {
      const fields = Object.entries(c.options)
        .map(([name, o]) => fieldOf(name, o))
        .filter((f) => f !== undefined);
      expect(new Set(fields).size, c.name).toBe(fields.length);
    }
  });
});

describe('argv is split from parseArgs tokens, strictly', () => {
  it.each([
    [
      ['theory', '--ports', '-3', '-n', '2'],
      /^fourtuple theory: --ports must be an integer from 1 to 65535 \(got -3\)$/,
    ],
    [
      ['theory', '-n', '-2', '-m', '3'],
      /--machines must be an integer from 1 to 10\^40 \(got -2\)/,
    ],
    [['listen', '-p', '-1'], /--port must be an integer from 0 to 65535 \(got -1\)/],
    [['theory', '--machines'], /^fourtuple theory: --machines needs a value$/],
    [
      ['connect', '--data', '--json'],
      /--data needs a value \(for a value that starts with "-": --data=VALUE\)/,
    ],
    [['theory', '--internet=yes'], /--internet does not take a value/],
    [['theory', '-x'], /unknown option -x \(see `fourtuple theory --help`\)/],
    [['theory', 'extra'], /unexpected argument "extra"/],
    [['listen', '--no-reuseport', '--reuseport'], /--reuseport and --no-reuseport cannot be used/],
    [
      ['limits', '--no-measure', '--connections', '500'],
      /--no-measure and --connections cannot be used together/,
    ],
    [['hosts', 'up'], /--machines is required \(an integer from 1 to 64\)/],
    [
      ['prove', '--machines', '2', '--ports', '3', '--base-port', '65534'],
      /--base-port must be an integer from 1024 to 65533/,
    ],
    [
      ['prove', '--machines', '65', '--ports', '1', '--hosts', 'netns'],
      /--machines must be an integer from 1 to 64 \(got 65\)/,
    ],
    [['max', '--hold', '2h'], /--hold must be a duration from 0ms to 3600s/],
    [['max', '--memory-floor', '2T'], /--memory-floor must be a size/],
  ])('fourtuple %j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });

  it('a value that starts with "-" is given with =, and after -- everything is an argument', async () => {
    const r = await cli(['errno', '--json', '--', '98']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe('EADDRINUSE');
    const t = await cli(['theory', '--machines=2', '-m', '3', '--json']);
    expect(JSON.parse(t.stdout).models.exact).toBe('21');
  });
});

describe('a library option refused by the library is named by its flag', () => {
  const byName = (n: string) => COMMANDS.find((c) => c.name === n)!;

  it('basePort -> --base-port, holdMs -> --hold, connections -> --connections', () => {
    expect(
      invalidOptionMessage(
        new InvalidOptionError('basePort', 'an integer from 1 to 65532', '70000'),
        byName('demo'),
      ),
    ).toBe('--base-port must be an integer from 1 to 65532 (got 70000)');
    expect(
      invalidOptionMessage(new InvalidOptionError('holdMs', 'at most 1h'), byName('max')),
    ).toBe('--hold must be at most 1h');
    expect(
      invalidOptionMessage(
        new InvalidOptionError('connections', 'a number when a target is remote', 'auto'),
        byName('max'),
      ),
    ).toBe('--connections must be a number when a target is remote (got auto)');
  });

  it('is bad input: exit 2 and one line on stderr', () => {
    let err = '';
    const io = {
      stdout: new PassThrough(),
      stderr: new PassThrough().on('data', (d) => {
        err += d;
      }),
      stderrIsTTY: false,
      env: {},
    };
    const e = new InvalidOptionError('basePort', 'an integer from 1 to 65532', '0');
    expect(reportError(e, byName('prove'), io, false)).toBe(2);
    expect(err).toBe('fourtuple prove: --base-port must be an integer from 1 to 65532 (got 0)\n');
  });

  it('a field no flag sets keeps the library wording', () => {
    const e = new InvalidOptionError('timeoutMs', 'positive');
    expect(invalidOptionMessage(e, byName('demo'))).toBe('timeoutMs must be positive');
  });
});

describe('the README names only flags the specs declare', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const names = new Set(COMMANDS.map((c) => c.name));

  it('every `fourtuple CMD --flag` in the README is an option of CMD', () => {
    let checked = 0;
    for (const m of readme.matchAll(/\bfourtuple((?: [^\s`]+)+)/g)) {
      const words = m[1]!.trim().split(' ');
      // `fourtuple CMD ...` or the tour's `fourtuple --flag ...`; not prose ("fourtuple lab")
      // nor an error line ("fourtuple connect: ...")
      const first = words[0]!;
      if (first === '--help' || first === '--version') continue;
      if (!names.has(first) && !first.startsWith('-')) continue;
      const name = names.has(first) ? first : 'tour';
      const spec = commandSpec(COMMANDS.find((c) => c.name === name)!);
      for (const w of words) {
        const flag = /^\[?--([a-z][a-z-]*)/.exec(w)?.[1];
        if (!flag) continue;
        const base = flag.startsWith('no-') ? flag.slice(3) : flag;
        const o = spec[flag] ?? spec[base];
        expect(o, `fourtuple ${name} --${flag} (README: "${m[0]}")`).toBeDefined();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
