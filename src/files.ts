/**
 * Files a run writes (the report page, the proof graph), written so that a reader never sees half
 * a page and a planted link is never followed:
 *
 * - the destination is reserved *before* the run: a new temporary file is created in the
 *   destination's own directory (O_CREAT | O_EXCL | O_NOFOLLOW, so it is ours and no link), which
 *   proves the directory exists and is writable, and that the destination is not a directory;
 * - after the run the content goes to that temporary file, is fsynced, and the file is renamed
 *   over the destination. rename(2) replaces a symlink at the destination itself, never the file
 *   it points to, and is atomic: the old page stays whole until the new one is complete;
 * - on any error, and at process exit if the run never wrote it, the temporary file is removed and
 *   the old page is left as it was.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SyscallError } from './errors.js';

/** Temporary files reserved and not yet committed or discarded, removed at process exit. */
const pending = new Set<string>();
let exitHookInstalled = false;

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of pending) removeQuietly(p);
  });
}

/** A Node fs error as a SyscallError naming the call and the path: `open EACCES /x/y.html`. */
export function fileError(err: unknown, fallbackSyscall: string, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.errno !== 'number') return err;
  return SyscallError.fromErrno(e.syscall ?? fallbackSyscall, Math.abs(e.errno), path);
}

/** A destination reserved before a run: write it once, or discard it. */
export interface ReservedFile {
  /** the absolute destination path */
  readonly path: string;
  /** writes `data` completely and atomically replaces the destination; returns the path */
  commit(data: string | Uint8Array): string;
  /** removes the temporary file; the destination is left as it was */
  discard(): void;
}

/**
 * Reserves `file` for writing after a run. Throws a SyscallError (ENOENT, ENOTDIR, EACCES, EROFS,
 * EISDIR, ...) naming the path when the destination could not be written, before any work is done.
 */
export function reserveFile(file: string): ReservedFile {
  const path = resolve(file);
  try {
    if (lstatSync(path).isDirectory()) {
      throw SyscallError.fromErrno('open', osConstants.errno.EISDIR, path);
    }
  } catch (err) {
    if (err instanceof SyscallError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw fileError(err, 'lstat', path);
    // no such file yet: fine, the directory is checked by creating the temporary file
  }
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
  );
  let fd: number;
  try {
    fd = openSync(
      tmp,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (err) {
    throw fileError(err, 'open', path);
  }
  installExitHook();
  pending.add(tmp);
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    pending.delete(tmp);
    closeSync(fd);
  };
  const handle: ReservedFile = {
    path,
    commit(data) {
      if (!open) throw new Error(`${path}: already written or discarded`);
      try {
        const buf = typeof data === 'string' ? Buffer.from(data) : data;
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        fsyncSync(fd);
        close();
        renameSync(tmp, path);
        return path;
      } catch (err) {
        if (open) close();
        removeQuietly(tmp);
        throw fileError(err, 'write', path);
      }
    },
    discard() {
      if (!open) return;
      close();
      removeQuietly(tmp);
    },
  };
  scope.getStore()?.add(handle);
  return handle;
}

const scope = new AsyncLocalStorage<Set<ReservedFile>>();

/**
 * Runs `fn`; every file reserved inside it (in its async context) and neither committed nor
 * discarded when it ends, returns or throws, is discarded then: a command that fails after
 * reserving its page leaves no temporary file behind, even in a process that goes on.
 */
export async function withReservedFiles<T>(fn: () => Promise<T>): Promise<T> {
  const reserved = new Set<ReservedFile>();
  try {
    return await scope.run(reserved, fn);
  } finally {
    for (const f of reserved) f.discard();
  }
}

/** Writes `data` to `file` atomically (reserve, then commit at once); returns the path. */
export function writeFileAtomic(file: string, data: string | Uint8Array): string {
  return reserveFile(file).commit(data);
}
