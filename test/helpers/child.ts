/**
 * Long-running child processes for tests: the built CLI (`node dist/cli/bin.js`) or an
 * independent peer such as socat, with their output collected line by line and a way to wait
 * for a line. Every child is killed by its own pid in `killAll()` (call it in afterEach).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** started in its own process group (killed as a group, by its pid) */
  detached: boolean;
  /** stdout lines so far */
  lines: string[];
  /** stderr so far */
  stderr(): string;
  /** stdout lines parsed as JSON (lines that are not JSON are skipped) */
  events(): Record<string, unknown>[];
  /** resolves with the first stdout line (or, with `stream: 'stderr'`, stderr text) matching */
  waitFor(
    match: (line: string) => boolean,
    timeoutMs?: number,
    stream?: 'stdout' | 'stderr',
  ): Promise<string>;
  /** resolves with the exit code (or 128 + signal number) when the child exits */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<Child>();

export function spawnChild(
  command: string,
  args: string[],
  opts: { detached?: boolean } = {},
): Child {
  const proc = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached === true,
  });
  if (proc.pid === undefined) throw new Error(`could not start ${command}`);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...watchers]) w();
  };
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    notify();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    notify();
  });
  proc.stdin!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      if (partial) lines.push(partial);
      partial = '';
      notify();
      resolve({ code, signal });
    }),
  );
  const child: Child = {
    proc,
    pid: proc.pid,
    detached: opts.detached === true,
    lines,
    stderr: () => err,
    events: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    waitFor(match, timeoutMs = 30_000, stream = 'stdout') {
      return new Promise<string>((resolve, reject) => {
        let done = false;
        const check = (): void => {
          if (done) return;
          const hit = stream === 'stdout' ? lines.find(match) : match(err) ? err : undefined;
          if (hit !== undefined) finish(() => resolve(hit));
          else if (proc.exitCode !== null || proc.signalCode !== null)
            finish(() =>
              reject(
                new Error(
                  `${command} exited before the awaited line; stdout:\n${lines.join('\n')}\nstderr:\n${err}`,
                ),
              ),
            );
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `timed out waiting for ${command}; stdout:\n${lines.join('\n')}\nstderr:\n${err}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const finish = (f: () => void): void => {
          done = true;
          clearTimeout(timer);
          watchers.delete(check);
          f();
        };
        watchers.add(check);
        check();
      });
    },
    exited,
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** The built CLI as a child process: `node dist/cli/bin.js ...argv`. */
export function spawnCli(argv: string[]): Child {
  return spawnChild(process.execPath, [BIN, ...argv]);
}

/** Kills every child still running (by its pid; a detached child's group by its pid). */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of children) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
    try {
      if (c.detached) process.kill(-c.pid, 'SIGKILL');
      else c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
    waits.push(c.exited);
  }
  await Promise.all(waits);
  children.clear();
}
