/**
 * Static neighbours for a netns lab, so the proof needs no ARP.
 *
 * Why: the kernel's IPv4 neighbour table is one table for all network namespaces, and its hard
 * limit, net.ipv4.neigh.default.gc_thresh3 (1024 by default), counts every namespace's entries.
 * In a lab of n machines on one bridge every machine learns every other: n(n-1) entries, 2256
 * for 48 machines, and past the limit the kernel logs "neighbor table overflow" and connects
 * fail with EHOSTUNREACH or ETIMEDOUT. Permanent entries are exempt from that limit. So each
 * machine's eth0 gets a known MAC (02:66:74:00:HH:LL from its index) and a permanent entry for
 * every other machine, one `ip -batch` per machine. They vanish with the namespaces.
 */
import type { Machine } from '../hosts/index.js';
import { runIpBatch } from '../hosts/ip.js';

/** The MAC given to machine `index`'s eth0: locally administered, "ft" (0x66 0x74), index. */
export function machineMac(index: number): string {
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return `02:66:74:00:${hex((index >> 8) & 0xff)}:${hex(index & 0xff)}`;
}

/** The `ip` commands, per machine, that fix its MAC and add every other machine (pure). */
export function neighbourBatches(machines: readonly Machine[]): string[][] {
  return machines.map((m) => [
    `link set dev eth0 address ${machineMac(m.index)}`,
    ...machines
      .filter((o) => o.index !== m.index)
      .map(
        (o) => `neigh replace ${o.address} lladdr ${machineMac(o.index)} dev eth0 nud permanent`,
      ),
  ]);
}

/** Applies neighbourBatches to a netns lab's machines, a few `ip` processes at a time. */
export async function addStaticNeighbours(
  machines: readonly Machine[],
  parallel = 8,
): Promise<void> {
  const batches = neighbourBatches(machines);
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < machines.length && !failed) {
      const k = next++;
      const m = machines[k]!;
      if (!m.netns) continue;
      try {
        await runIpBatch(batches[k]!, { netns: m.netns });
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, machines.length) }, worker));
  if (failed) throw failed.err;
}
