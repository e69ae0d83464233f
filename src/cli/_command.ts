/** What every CLI command file exports. The CLI is a thin layer: parse, call the library, print. */
import { UsageError } from '../errors.js';
import type { Spec, Values } from './_spec.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** true when stderr is a terminal: progress is drawn only then */
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** The options every command takes besides its own (--json only when it has a result). */
export interface CommonValues {
  json: boolean;
  debug: boolean;
}

export interface CommandContext<V = Record<string, unknown>> {
  /** every option of the command's spec, validated, defaults filled in */
  values: V & CommonValues;
  /** the options the user actually gave (by long name), for conflicts and defaults */
  given: ReadonlySet<string>;
  positionals: string[];
  /** the command's full spec (its options and the common ones) */
  spec: Spec;
  io: Io;
  /** aborted on SIGINT/SIGTERM; long work must stop and clean up when it fires */
  signal: AbortSignal;
}

export interface CommandDef<S extends Spec> {
  name: string;
  /** one line for `fourtuple --help` */
  summary: string;
  /** prose after the usage line in `--help`: what it does (no option list: that is generated) */
  description: string;
  /** prose after the option list: exit codes, examples */
  epilog?: string;
  /** command-specific options; --help, --json and --debug are added for every command */
  options: S;
  /** the positional arguments, when the command takes any: how usage shows them, and what they are */
  args?: { usage: string; description: string };
  /** false for commands that produce no result object (then --json is not offered); a string says what --json prints */
  json?: boolean | string;
  /** returns the exit code: 0 success, 1 the operation failed, 2 bad input */
  run(ctx: CommandContext<Values<S>>): Promise<number>;
}

/** A command with its option types erased, as main.ts holds them. */
export type Command = Omit<CommandDef<Spec>, 'run'> & { run(ctx: CommandContext): Promise<number> };

/** Declares a command; its spec's literal types type `run`'s values. */
export function defineCommand<const S extends Spec>(c: CommandDef<S>): Command {
  return c as unknown as Command;
}

/** The full spec a command parses: its own options, then the common ones. */
export function commandSpec(c: Command): Spec {
  return {
    ...c.options,
    ...(c.json === false
      ? {}
      : {
          json: {
            type: 'boolean',
            description:
              typeof c.json === 'string' ? c.json : 'print the result object as JSON on stdout',
            field: false,
          },
        }),
    debug: {
      type: 'boolean',
      description: 'show stack traces for unexpected errors',
      field: false,
    },
    help: { type: 'boolean', short: 'h', description: 'this text', field: false },
  };
}

/** Refuses two options given together (a negated boolean is named as the user wrote it). */
export function conflicts<V>(
  ctx: { values: V; given: ReadonlySet<string> },
  a: keyof V & string,
  b: keyof V & string,
): void {
  if (ctx.given.has(a) && ctx.given.has(b)) {
    const name = (f: keyof V & string): string => (ctx.values[f] === false ? `no-${f}` : f);
    throw new UsageError(`--${name(a)} and --${name(b)} cannot be used together`, a);
  }
}
