/** Runs the CLI in-process (fast) or as a real process (the built bin), capturing its output. */
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], signal?: AbortSignal): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  const code = await runCli(argv, {
    io: { stdout, stderr, stderrIsTTY: false, env: process.env },
    ...(signal ? { signal } : {}),
  });
  return { code, stdout: out, stderr: err };
}

export const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

/** Runs the built `fourtuple` binary (npm test builds it first). */
export function cliProcess(argv: string[], timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
