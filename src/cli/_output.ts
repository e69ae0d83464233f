/** Output helpers shared by the commands: JSON with BigInt as decimal strings, plain tables. */
import { realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Io } from './_command.js';

/** JSON.stringify where BigInt values become decimal strings (JSON has no integers past 2^53). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** Prints a result object as JSON on stdout, one line (so it can be piped to jq). */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${toJson(value)}\n`);
}

/** Groups digits by thousands: 1234567 -> 1,234,567. Works for any BigInt. */
export function groupDigits(v: bigint | number): string {
  const s = v.toString();
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export type Align = 'left' | 'right';

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        return align[i] === 'right' ? c.padStart(w) : c.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Wraps a paragraph to `width` columns. */
export function wrap(text: string, width = 88, indent = ''): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width - indent.length) {
      lines.push(indent + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(indent + cur);
  return lines.join('\n');
}

/**
 * How to run this fourtuple again, as a hint a user can paste: `fourtuple` when that name on
 * PATH is this very program (after `npm link` or `npm install -g .`), otherwise node and this
 * file's absolute path (a clone run with `npx fourtuple` is not on PATH for `ip netns exec`).
 */
export function selfCommand(env: NodeJS.ProcessEnv = process.env): string {
  // the built entry point beside this module (dist/cli/bin.js); run from source, the script
  const bin =
    realpathOr(fileURLToPath(new URL('./bin.js', import.meta.url))) ??
    realpathOr(process.argv[1] ?? '') ??
    'fourtuple';
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && realpathOr(join(dir, 'fourtuple')) === bin) return 'fourtuple';
  }
  return `${process.execPath} ${bin}`;
}

function realpathOr(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
