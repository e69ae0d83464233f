/**
 * The fourtuple CLI entry point: picks the command, parses its flags strictly, runs it, and maps
 * errors to exit codes (2 bad input, 1 failure, 130/143 interrupted). The only place that calls
 * process.exit.
 */
import { readFileSync } from 'node:fs';
import { printable } from '../endpoints/listener.js';
import { FourtupleError, InterruptedError, InvalidOptionError, UsageError } from '../errors.js';
import { withReservedFiles } from '../files.js';
import { type Command, type CommandContext, commandSpec, type Io } from './_command.js';
import { parseArgv } from './_parse.js';
import { fieldOf, resolveValues } from './_spec.js';
import { commandHelp } from './_usage.js';
import { agentCommand } from './agent.js';
import { cleanupCommand } from './cleanup.js';
import { connectCommand } from './connect.js';
import { demoCommand } from './demo.js';
import { errnoCommand } from './errno.js';
import { hostsCommand } from './hosts.js';
import { k8sCommand } from './k8s.js';
import { limitsCommand } from './limits.js';
import { listenCommand } from './listen.js';
import { maxCommand } from './max.js';
import { mergeCommand } from './merge.js';
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
  agentCommand,
  mergeCommand,
  k8sCommand,
  cleanupCommand,
  reportCommand,
];

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

export interface RunOptions {
  io?: Io;
  signal?: AbortSignal;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code. Never throws:
 * every error becomes a one-line message on stderr.
 */
export function runCli(argv: string[], options: RunOptions = {}): Promise<number> {
  // a page reserved by a run that then fails is discarded when the run ends
  return withReservedFiles(() => runCommand(argv, options));
}

async function runCommand(argv: string[], options: RunOptions): Promise<number> {
  const io: Io = options.io ?? {
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
  };
  const signal = options.signal ?? new AbortController().signal;
  const debug = argv.includes('--debug');
  // --json asked for a JSON answer on stdout: a failure is one too, so a script reading stdout
  // sees it ({"error": {"code", "message"}}), beside the usual line on stderr. Known once the
  // flags are parsed (a `--json` that is another flag's missing value is not one), and only
  // when the command printed nothing there yet (a result printed before a failed page write
  // stays the one JSON document on stdout).
  let jsonOut = false;
  const stdout = trackWrites(io.stdout);

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
    const spec = commandSpec(command);
    const { given, positionals } = parseArgv(command.name, spec, rest, Boolean(command.args));
    jsonOut = given.get('json') === true || given.get('json-stream') === true;
    if (given.get('help') === true) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const values = resolveValues(spec, given) as CommandContext['values'];
    return await command.run({
      values,
      given: new Set(given.keys()),
      positionals,
      spec,
      io: { ...io, stdout: stdout.stream },
      signal,
    });
  } catch (err) {
    // Interrupted, a command can fail on the way out with whatever its cleanup met (an `ip`
    // killed by the same Ctrl-C, a closed pipe): the cause is the interruption.
    if (signal.aborted && !(err instanceof UsageError)) {
      const why = signal.reason instanceof InterruptedError ? signal.reason : undefined;
      // a closed stdout ends the run quietly, as it does other Unix tools
      if (why?.signal !== 'SIGPIPE') io.stderr.write(`fourtuple ${command.name}: interrupted\n`);
      if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
      return why?.exitCode ?? 130;
    }
    const code = reportError(err, command, io, debug);
    if (jsonOut && code !== 0 && !stdout.used()) {
      io.stdout.write(`${jsonError(err, command, code)}\n`);
    }
    return code;
  }
}

/** `stream` with its writes noticed: `used()` says whether anything was written to it. */
function trackWrites(target: NodeJS.WritableStream): {
  stream: NodeJS.WritableStream;
  used(): boolean;
} {
  let used = false;
  const stream = new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (prop === 'write') {
        return (...args: Parameters<NodeJS.WritableStream['write']>) => {
          used = true;
          return (v as NodeJS.WritableStream['write']).apply(t, args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { stream, used: () => used };
}

/** A failure as the JSON object --json prints on stdout: its stable code and its message. */
export function jsonError(err: unknown, command: Command, exitCode: number): string {
  const code =
    err instanceof FourtupleError ? err.code : exitCode === 2 ? 'FOURTUPLE_USAGE' : 'UNEXPECTED';
  const message =
    err instanceof InvalidOptionError
      ? invalidOptionMessage(err, command)
      : err instanceof Error
        ? err.message.split('\n')[0]
        : String(err);
  return JSON.stringify({ error: { code, message, exitCode } });
}

/**
 * Prints an error as one line (a stack only with --debug) and returns its exit code. The line is
 * printable: a message that quotes user input (a newline, an escape sequence) stays one line.
 */
export function reportError(err: unknown, command: Command, io: Io, debug: boolean): number {
  if (err instanceof InvalidOptionError) {
    io.stderr.write(
      `fourtuple ${command.name}: ${printable(invalidOptionMessage(err, command))}\n`,
    );
    return 2;
  }
  if (err instanceof UsageError) {
    io.stderr.write(`fourtuple ${command.name}: ${printable(err.message)}\n`);
    return 2;
  }
  if (err instanceof InterruptedError) {
    if (err.signal !== 'SIGPIPE') io.stderr.write(`fourtuple ${command.name}: interrupted\n`);
    return err.exitCode;
  }
  if (err instanceof FourtupleError) {
    io.stderr.write(`fourtuple ${command.name}: error: ${printable(err.message)}\n`);
  } else if (err instanceof Error && err.name === 'AbortError') {
    io.stderr.write(`fourtuple ${command.name}: interrupted\n`);
    return 130;
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(
      `fourtuple ${command.name}: unexpected error: ${printable(msg.split('\n')[0]!)}\n`,
    );
  }
  if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return 1;
}

/**
 * A library option the library refused, named by the flag that sets it: the command's spec
 * knows each option's library field (basePort -> --base-port).
 */
export function invalidOptionMessage(err: InvalidOptionError, command: Command): string {
  const flag = Object.entries(command.options).find(([name, o]) => fieldOf(name, o) === err.option);
  const got = err.got === undefined ? '' : ` (got ${err.got})`;
  return flag ? `--${flag[0]} must be ${err.expected}${got}` : err.message;
}

/** What a run forced out after 5 s of cleanup prints: the command, and that its cleanup ran over. */
function forcedExitLine(): string {
  const name = process.argv[2];
  const command = name && COMMANDS.some((c) => c.name === name) ? ` ${name}` : '';
  return `fourtuple${command}: interrupted (its cleanup did not finish within 5 s)`;
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
    // Commands clean up on abort; if one does not finish in 5 s, leave anyway. Not unref'd: a
    // command whose cleanup waits on something that will never come (a handle Node cannot
    // close) lets the event loop drain, and Node's own exit would then wait on it forever.
    setTimeout(() => {
      // the command's own "interrupted" line never came: say it, and why the exit is forced
      process.stderr.write(`${forcedExitLine()}\n`);
      process.exit(code);
    }, 5000);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that leaves (`| head -c 10`) closes stdout: the next write fails with EPIPE. Like
  // other Unix tools, stop there quietly (exit 141, 128 + SIGPIPE), cleaning up as on Ctrl-C.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // already stopping (a signal came first): nothing more can be said, and a write to the
    // closed pipe must not keep the process busy
    if (exitCode !== undefined) process.exit(exitCode);
    exitCode = 141;
    controller.abort(new InterruptedError('SIGPIPE'));
    setTimeout(() => process.exit(141), 5000);
  });
  const code = await runCli(process.argv.slice(2), { signal: controller.signal });
  // A command that finished on microtasks alone never let the event loop turn: a SIGINT or
  // SIGTERM that arrived meanwhile is still queued. One turn runs its handler, so the exit
  // code says the run was interrupted (130/143) rather than that it completed.
  await new Promise<void>((resolve) => setImmediate(resolve));
  // Let stdout drain before exiting (pipes are asynchronous).
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(exitCode ?? code);
}
