/** What every CLI command file exports. The CLI is a thin layer: parse, call the library, print. */
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** true when stderr is a terminal: progress is drawn only then */
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  values: ParsedValues;
  positionals: string[];
  io: Io;
  /** aborted on SIGINT/SIGTERM; long work must stop and clean up when it fires */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  /** one line for `fourtuple --help` */
  summary: string;
  /** the full `fourtuple NAME --help` text, without the trailing common options */
  help: string;
  /** command-specific options; --help, --json and --debug are added for every command */
  options: OptionSpec;
  /** false when the command takes no positional arguments */
  positionals?: boolean;
  /** false for commands that produce no result object (then --json is not offered) */
  json?: boolean;
  /** returns the exit code: 0 success, 1 the operation failed, 2 bad input */
  run(ctx: CommandContext): Promise<number>;
}
