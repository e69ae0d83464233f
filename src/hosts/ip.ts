/**
 * Runs iproute2's `ip` with execFile (an argument vector, never a shell string). A batch of
 * commands goes to one `ip -batch -` process on stdin, which is how a lab of 64 machines is
 * built in tens of milliseconds rather than hundreds of `ip` processes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { FourtupleError } from '../errors.js';

export const IP = 'ip';

export interface IpResult {
  stdout: string;
  stderr: string;
}

/** A failed `ip` command: the message is its first line of complaint. */
export class IpCommandError extends FourtupleError {
  override name = 'IpCommandError';
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const first = stderr.trim().split('\n')[0] || 'failed';
    super('FOURTUPLE_IP', `ip ${args.join(' ')}: ${first}`, options);
  }
}

function notFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Runs `ip ARGS` (with `input` on stdin when given) and resolves with its output. */
export function runIp(args: readonly string[], input?: string): Promise<IpResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      IP,
      args,
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        if (notFound(err)) {
          return reject(
            new FourtupleError('FOURTUPLE_NO_IP', 'the `ip` command (iproute2) is not installed', {
              cause: err,
            }),
          );
        }
        reject(new IpCommandError(args, stderr || err.message, { cause: err }));
      },
    );
    // An `ip` that exited early closes stdin under us; its exit status says what went wrong.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** Runs a batch of `ip` commands (one per line, without the leading `ip`) in one process. */
export function runIpBatch(
  lines: readonly string[],
  opts: { netns?: string; force?: boolean } = {},
) {
  const args = [
    ...(opts.netns ? ['-n', opts.netns] : []),
    ...(opts.force ? ['-force'] : []),
    '-batch',
    '-',
  ];
  return runIp(args, `${lines.join('\n')}\n`);
}

/** The synchronous form, for process 'exit' handlers (which cannot wait). Never throws. */
export function runIpBatchSync(lines: readonly string[]): boolean {
  try {
    execFileSync(IP, ['-force', '-batch', '-'], {
      input: `${lines.join('\n')}\n`,
      stdio: ['pipe', 'ignore', 'ignore'],
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}
