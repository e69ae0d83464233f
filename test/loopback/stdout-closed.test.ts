/**
 * A reader that leaves early (`fourtuple max --json-stream | head -c 10`) closes stdout: the run
 * ends quietly with exit 141 (128 + SIGPIPE, as other Unix tools), cleans up its workers and
 * prints no stack trace.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { sleep, stillRunning, until, watchDescendants } from '../helpers/procs.js';

describe('a closed stdout', () => {
  it('max --json-stream whose reader leaves after 10 bytes: exit 141, no stack trace, no worker left', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'max', '--connections', '8000', '--hold', '3s', '--json-stream'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const watch = watchDescendants(child.pid!);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // like `head -c 10`: read the first bytes, then close the read end of the pipe
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await exited;
    await until('workers to leave', () => stillRunning(watch.seen.values()).length === 0, {
      timeoutMs: 10_000,
      stepMs: 50,
    });
    watch.stop();
    await sleep(0);
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });
});
