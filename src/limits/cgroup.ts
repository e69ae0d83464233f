/**
 * The memory cgroup *this process* is in, v1 or v2, and what it still allows. Inside a container
 * or a Kubernetes pod, /proc/meminfo's MemAvailable is the node's: the limit that OOM-kills the
 * process is its own cgroup's (and every ancestor's, since limits are hierarchical), found from
 * /proc/self/cgroup and the cgroup mounts in /proc/self/mountinfo, never from the top-level
 * /sys/fs/cgroup files (which are the root cgroup's, and unlimited).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/** cgroup v1 reports "no limit" as a page-aligned 2^63 - 1; anything this large is none. */
const UNLIMITED_V1 = 2 ** 62;

export interface OwnCgroupMemory {
  version: 1 | 2;
  /** the process's memory cgroup as /proc/self/cgroup names it (e.g. /kubepods/pod1/c2) */
  cgroup: string;
  /** the directory of the cgroup whose limit binds (the lowest headroom up the tree) */
  dir: string;
  /** the binding limit, or 'unlimited' when no cgroup up to the root sets one */
  limitBytes: number | 'unlimited';
  /** memory charged to that cgroup now */
  usageBytes: number;
  /** limit - usage at the binding level; undefined when unlimited */
  availableBytes: number | undefined;
}

interface Mount {
  /** the path inside the cgroup file system that is mounted (usually /) */
  root: string;
  /** where it is mounted */
  point: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function int(text: string | undefined): number | undefined {
  const t = text?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined;
}

/**
 * The memory controller's entry in /proc/self/cgroup: v1 (`4:memory:/a/b`) when a hierarchy
 * has the memory controller, else v2 (`0::/a/b`).
 */
export function parseProcCgroup(text: string): { version: 1 | 2; path: string } | undefined {
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[2]!.split(',').includes('memory')) return { version: 1, path: m[3]! };
    if (m[1] === '0' && m[2] === '') v2 = m[3]!;
  }
  return v2 === undefined ? undefined : { version: 2, path: v2 };
}

/** The mount of the memory cgroup hierarchy (v1) or of cgroup2, from /proc/self/mountinfo. */
export function parseCgroupMount(text: string, version: 1 | 2): Mount | undefined {
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fstype, , superOptions] = right.split(' ');
    const ok =
      version === 2
        ? fstype === 'cgroup2'
        : fstype === 'cgroup' && (superOptions ?? '').split(',').includes('memory');
    if (ok && f[3] !== undefined && f[4] !== undefined) return { root: f[3], point: f[4] };
  }
  return undefined;
}

/**
 * The directories from the process's own cgroup up to the top of the mounted hierarchy. With a
 * cgroup namespace the mount's root is the process's own cgroup, so the list starts there.
 */
function cgroupDirs(mount: Mount, path: string, root: string): string[] {
  const rel =
    mount.root !== '/' && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
  const dirs: string[] = [];
  let p = posix.normalize(`/${rel}`);
  for (;;) {
    dirs.push(`${root}${posix.join(mount.point, p)}`);
    if (p === '/') return dirs;
    p = posix.dirname(p);
  }
}

/**
 * The memory this process's cgroup still allows: the lowest headroom (limit - usage) of its
 * cgroup and every ancestor. `undefined` when there is no memory cgroup to read (not Linux, no
 * cgroup file system mounted). `root` prefixes every path (tests use a copy of /proc and /sys).
 */
export function readOwnCgroupMemory(root = ''): OwnCgroupMemory | undefined {
  const own = parseProcCgroup(read(`${root}/proc/self/cgroup`) ?? '');
  if (!own) return undefined;
  const mount = parseCgroupMount(read(`${root}/proc/self/mountinfo`) ?? '', own.version);
  if (!mount) return undefined;
  const [limitFile, usageFile] =
    own.version === 2
      ? ['memory.max', 'memory.current']
      : ['memory.limit_in_bytes', 'memory.usage_in_bytes'];
  let best: OwnCgroupMemory | undefined;
  let firstUsage: { dir: string; usage: number } | undefined;
  for (const dir of cgroupDirs(mount, own.path, root)) {
    const usage = int(read(`${dir}/${usageFile}`));
    const limitText = read(`${dir}/${limitFile}`)?.trim();
    if (usage === undefined || limitText === undefined) continue; // the v2 root has no memory.max
    firstUsage ??= { dir, usage };
    const limit = limitText === 'max' ? undefined : int(limitText);
    if (limit === undefined || limit >= UNLIMITED_V1) continue;
    const available = Math.max(0, limit - usage);
    if (best?.availableBytes === undefined || available < best.availableBytes) {
      best = {
        version: own.version,
        cgroup: own.path,
        dir,
        limitBytes: limit,
        usageBytes: usage,
        availableBytes: available,
      };
    }
  }
  if (best) return best;
  if (!firstUsage) return undefined;
  return {
    version: own.version,
    cgroup: own.path,
    dir: firstUsage.dir,
    limitBytes: 'unlimited',
    usageBytes: firstUsage.usage,
    availableBytes: undefined,
  };
}
