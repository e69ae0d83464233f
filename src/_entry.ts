/**
 * Where a child process's compiled entry is: the library forks its own modules (a `max` worker,
 * a `listen --workers` process), which exist as JavaScript only in dist/. Beside the caller when
 * it runs from dist/; in dist/ when it runs from src/ (the tests).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FourtupleError } from './errors.js';

/** The entry `rel` (from src/, e.g. 'scale/worker.js'), for a caller at `callerUrl`. */
export function builtEntry(callerUrl: string, rel: string): string {
  const name = rel.split('/').pop()!;
  const sibling = fileURLToPath(new URL(`./${name}`, callerUrl));
  if (existsSync(sibling)) return sibling;
  const dist = fileURLToPath(new URL(`../dist/${rel}`, import.meta.url));
  if (existsSync(dist)) return dist;
  throw new FourtupleError(
    'FOURTUPLE_NO_WORKER',
    `worker entry not found (looked for ${sibling}); run npm run build`,
  );
}
