/**
 * The fourtuple CLI entry point: picks the command, parses its flags strictly, runs it, and maps
 * errors to exit codes (2 bad input, 1 failure, 130/143 interrupted). The only place that calls
 * process.exit.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FourtupleError, InterruptedError, UsageError } from '../errors.js';
import type { Command, Io, OptionSpec, ParsedValues } from './_command.js';
import { cleanupCommand } from './cleanup.js';
import { connectCommand } from './connect.js';
import { demoCommand } from './demo.js';
import { errnoCommand } from './errno.js';
import { hostsCommand } from './hosts.js';
import { limitsCommand } from './limits.js';
import { listenCommand } from './listen.js';
import { maxCommand } from './max.js';
import { proveCommand } from './prove.js';
import { reportCommand } from './report.js';
import { theoryCommand } from './theory.js';
import { tourCommand } from './tour.js';

/** Every command, in the order `fourtuple --help` lists them. */
export const COMMANDS: readonly Command[] = [
  tourCommand,
  theoryCommand,
  limitsCommand,
  listenCommand,
  connectCommand,
  errnoCommand,
  demoCommand,
  maxCommand,
  proveCommand,
  hostsCommand,
  cleanupCommand,
  reportCommand,
];

const COMMON_OPTIONS: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'fourtuple: how many TCP connections can you make? Exactly in theory, by experiment',
    'against the real kernel, and in practice on this machine.',
    '',
    'Usage: fourtuple [COMMAND] [options]      (no command: the tour, same as `fourtuple tour`)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `fourtuple COMMAND --help` for a command's options. Every command that produces a",
    "result takes --json and prints the library's result object on stdout.",
    '',
    'Options: -h, --help   this text     --version   print the version',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const common = [
    '',
    'Common options:',
    ...(c.json === false ? [] : ['  --json      print the result object as JSON on stdout']),
    ...(c.options.report
      ? ['  --report F  also write the result as the report page F (self-contained HTML)']
      : []),
    '  --debug     show stack traces for unexpected errors',
    '  -h, --help  this text',
  ];
  return `${c.help.trimEnd()}\n${common.join('\n')}`;
}

/** Maps node:util parseArgs errors to one-line usage messages. */
function parseError(err: unknown, c: Command): UsageError {
  const msg = err instanceof Error ? err.message : String(err);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) {
    return new UsageError(`unknown option ${unknown[1]} (see \`fourtuple ${c.name} --help\`)`);
  }
  const positional = /Unexpected argument '([^']+)'/.exec(msg);
  if (positional) {
    return new UsageError(
      `unexpected argument "${positional[1]}" (see \`fourtuple ${c.name} --help\`)`,
    );
  }
  const needsValue = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(msg);
  if (needsValue) return new UsageError(`${needsValue[1]} needs a value`);
  const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(msg);
  if (noValue) return new UsageError(`${noValue[1]} does not take a value`);
  return new UsageError(msg.split('\n')[0] ?? 'bad arguments');
}

/**
 * `--ports -3` would read as an unknown option -3; join it to `--ports=-3` so the flag's own
 * validation names the accepted range.
 */
function joinNegativeValues(args: string[], options: OptionSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    const short =
      !name && /^-\w$/.test(a)
        ? Object.entries(options).find(([, o]) => o.short === a.slice(1))?.[0]
        : undefined;
    const key = name ?? short;
    if (key && options[key]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`--${key}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Booleans with a documented --no- form (the others reject --no-NAME as unknown). */
const NEGATABLE = new Set(['reuseaddr', 'reuseport', 'bind-no-port', 'measure']);

/**
 * What node:util parseArgs lets through and a careful CLI should not: --no-NAME for a boolean
 * that has no off form (--no-json), a boolean given both ways (--reuseaddr --no-reuseaddr), and
 * a value flag given twice (--machines 2 --machines 3, where the last silently wins).
 */
function checkRepeats(args: readonly string[], options: OptionSpec, c: Command): void {
  const booleans = new Map<string, boolean>();
  const values = new Set<string>();
  const shortName = new Map(
    Object.entries(options)
      .filter(([, o]) => o.short)
      .map(([name, o]) => [o.short!, name]),
  );
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    const long = /^--(no-)?([\w-]+)(=.*)?$/.exec(a);
    const short = /^-(\w)$/.exec(a);
    const name = long ? long[2]! : short ? shortName.get(short[1]!) : undefined;
    const o = name === undefined ? undefined : options[name];
    if (!name || !o) continue;
    const negated = Boolean(long?.[1]);
    if (o.type === 'boolean') {
      if (negated && !NEGATABLE.has(name)) {
        throw new UsageError(`unknown option --no-${name} (see \`fourtuple ${c.name} --help\`)`);
      }
      const was = booleans.get(name);
      if (was !== undefined && was === negated) {
        throw new UsageError(`--${name} and --no-${name} cannot be used together`, name);
      }
      booleans.set(name, !negated);
    } else if (!o.multiple) {
      if (values.has(name)) throw new UsageError(`--${name} is given more than once`, name);
      values.add(name);
      if (!long?.[3]) i++; // its value is the next argument
    }
  }
}

export interface RunOptions {
  io?: Io;
  signal?: AbortSignal;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. Never throws:
 * every error becomes a one-line message on stderr.
 */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<number> {
  const io: Io = options.io ?? {
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
  };
  const signal = options.signal ?? new AbortController().signal;
  const debug = argv.includes('--debug');

  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    const named = argv[1] ? COMMANDS.find((c) => c.name === argv[1]) : undefined;
    io.stdout.write(`${named ? commandHelp(named) : topHelp()}\n`);
    return 0;
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }

  let command: Command | undefined = tourCommand;
  let rest = argv;
  if (first !== undefined && !first.startsWith('-')) {
    command = COMMANDS.find((c) => c.name === first);
    rest = argv.slice(1);
    if (!command) {
      io.stderr.write(
        `fourtuple: unknown command "${first}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`,
      );
      return 2;
    }
  }

  try {
    const options: OptionSpec = {
      ...command.options,
      ...COMMON_OPTIONS,
      ...(command.json === false ? {} : { json: { type: 'boolean' } }),
    };
    checkRepeats(rest, options, command);
    let parsed: { values: ParsedValues; positionals: string[] };
    try {
      parsed = parseArgs({
        args: joinNegativeValues(rest, options),
        options,
        allowPositionals: command.positionals === true,
        strict: true,
        allowNegative: true,
      }) as { values: ParsedValues; positionals: string[] };
    } catch (err) {
      throw parseError(err, command);
    }
    if (parsed.values.help) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    return await command.run({
      values: parsed.values,
      positionals: parsed.positionals,
      io,
      signal,
    });
  } catch (err) {
    // Interrupted, a command can fail on the way out with whatever its cleanup met (an `ip`
    // killed by the same Ctrl-C, a closed pipe): the cause is the interruption.
    if (signal.aborted && !(err instanceof UsageError)) {
      io.stderr.write(`fourtuple ${command.name}: interrupted\n`);
      if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
      return 130;
    }
    return reportError(err, command, io, debug);
  }
}

/** Prints an error as one line (a stack only with --debug) and returns its exit code. */
export function reportError(err: unknown, command: Command, io: Io, debug: boolean): number {
  if (err instanceof UsageError) {
    io.stderr.write(`fourtuple ${command.name}: ${err.message}\n`);
    return 2;
  }
  if (err instanceof FourtupleError) {
    io.stderr.write(`fourtuple ${command.name}: error: ${err.message}\n`);
  } else if (err instanceof Error && err.name === 'AbortError') {
    io.stderr.write(`fourtuple ${command.name}: interrupted\n`);
    return 130;
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(`fourtuple ${command.name}: unexpected error: ${msg.split('\n')[0]}\n`);
  }
  if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return 1;
}

/** Process entry: wires SIGINT/SIGTERM to an AbortSignal, runs, exits with the code. */
export async function runMain(): Promise<never> {
  const controller = new AbortController();
  let exitCode: number | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (exitCode !== undefined) process.exit(code); // second signal: stop now
    exitCode = code;
    controller.abort(new InterruptedError(sig === 'SIGINT' ? 'SIGINT' : 'SIGTERM'));
    // Commands clean up on abort; if one does not finish in 5 s, leave anyway.
    setTimeout(() => process.exit(code), 5000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(process.argv.slice(2), { signal: controller.signal });
  // A command that finished on microtasks alone never let the event loop turn: a SIGINT or
  // SIGTERM that arrived meanwhile is still queued. One turn runs its handler, so the exit
  // code says the run was interrupted (130/143) rather than that it completed.
  await new Promise<void>((resolve) => setImmediate(resolve));
  // Let stdout drain before exiting (pipes are asynchronous).
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(exitCode ?? code);
}
