/**
 * Running a program on a machine of a lab. On a netns machine that is `ip netns exec NAME cmd
 * args...` (argument vector, no shell); on a loopback machine the program runs as is.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { IP } from './ip.js';
import type { Machine } from './lab.js';

/** The program and arguments that run `cmd args` inside `machine` (pure). */
export function commandIn(
  machine: Pick<Machine, 'netns'>,
  cmd: string,
  args: readonly string[] = [],
): { file: string; args: string[] } {
  if (machine.netns === undefined) return { file: cmd, args: [...args] };
  return { file: IP, args: ['netns', 'exec', machine.netns, cmd, ...args] };
}

export interface ExecInOptions {
  /** written to the program's stdin, which is then closed */
  input?: string;
  /** kill the program after this long (default 30 s) */
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface ExecInResult {
  /** exit code, or null when a signal ended it */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `cmd args` inside `machine` and returns the child (for long-running programs). */
export function spawnIn(
  machine: Pick<Machine, 'netns'>,
  cmd: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): ChildProcess {
  const c = commandIn(machine, cmd, args);
  return spawn(c.file, c.args, options);
}

/**
 * Runs `cmd args` inside `machine` to completion and resolves with its exit status and output.
 * A non-zero exit resolves (read `code`); only a program that cannot be started rejects.
 */
export function execIn(
  machine: Pick<Machine, 'netns'>,
  cmd: string,
  args: readonly string[] = [],
  options: ExecInOptions = {},
): Promise<ExecInResult> {
  return new Promise((resolve, reject) => {
    const child = spawnIn(machine, cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}
