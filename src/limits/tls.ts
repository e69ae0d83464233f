/**
 * `limits --tls`: the walls with TLS beside the plain-TCP walls. The costs come from a short,
 * bounded `max --tls` run on loopback (the library function behind it: TLS servers and clients in
 * separate processes, a plain-TCP baseline with the same workers first), never from fixed
 * figures; `tlsWalls` turns them into walls against this machine's limits (pure).
 */
import type { MaxResult, MaxTlsOptions, TlsResult, TlsRunFigures } from '../scale/types.js';

/** The TLS measurement's connections by default, and its bounds (a short run, not a max). */
export const DEFAULT_TLS_CONNECTIONS = 2000;
export const MIN_TLS_CONNECTIONS = 100;
export const MAX_TLS_CONNECTIONS = 5000;

/** One protocol's cost per connection and the walls it implies. */
export interface TlsWallFigures {
  /** CPU per handshake (a plain connect and accept for TCP), microseconds, per side */
  serverUsPerHandshake: number;
  clientUsPerHandshake: number;
  /** process memory (PSS growth) per held connection, per side */
  serverBytesPerConnection: number;
  clientBytesPerConnection: number;
  /** the kernel's (Slab) per connection, the same TCP socket under both; 0 when not counted */
  kernelBytesPerConnection: number;
  /** what the memory wall divides by: the ends on this machine (the shape's) plus the kernel */
  bytesPerConnection: number;
  /** the CPU wall: cores x 1e6 / serverUsPerHandshake, and the time to open `open` at it */
  cpuWall: { handshakesPerSec: number; secondsToOpen: number };
  /** memory free for sockets / bytesPerConnection */
  memoryWall: number;
}

/** The `tls` part of a limits result. */
export interface LimitsTls {
  /** the run the costs come from */
  measured: {
    connections: number;
    established: number;
    cert: string;
    key: string;
    protocol: string;
    cipher: string;
    group: string;
    openssl: string;
    /** the TLS run's ramp and the baseline's, ms */
    rampMs: number;
    baselineRampMs: number;
  };
  cores: number;
  /** memory free for sockets, as the memory limit reads it */
  memoryBytes: number;
  /** N for the time to open: the machine's plain-TCP estimate, or the TLS memory wall if lower */
  open: number;
  /** false: no Slab delta in the run was its own (other programs' sockets came and went) */
  kernelCounted: boolean;
  tls: TlsWallFigures;
  tcp: TlsWallFigures;
}

/** What `limits()` needs to measure the TLS costs. */
export interface LimitsTlsOptions {
  /** connections of the TLS run and of its plain-TCP baseline (default 2000) */
  connections?: number;
  cert?: MaxTlsOptions['cert'];
}

/** cores x 1e6 / us per handshake (0 when nothing was measured), and the time to open n at it. */
export function cpuWall(
  cores: number,
  usPerHandshake: number,
  n: number,
): TlsWallFigures['cpuWall'] {
  const perSec = usPerHandshake > 0 ? Math.round((cores * 1e6) / usPerHandshake) : 0;
  return {
    handshakesPerSec: perSec,
    secondsToOpen: perSec > 0 ? Math.round((n / perSec) * 10) / 10 : 0,
  };
}

/** The options of the bounded `max --tls` run behind `limits --tls`: held 0 s, both ends ours. */
export function tlsRunOptions(o: LimitsTlsOptions, signal?: AbortSignal) {
  const connections = o.connections ?? DEFAULT_TLS_CONNECTIONS;
  return {
    connections,
    holdMs: 0,
    durationMs: 300_000,
    tls: { cert: o.cert ?? 'ecdsa', baseline: connections },
    ...(signal ? { signal } : {}),
  } as const;
}

/**
 * The walls with TLS and without, from a `max --tls` result with its baseline. `memoryBytes`:
 * memory free for sockets; `estimate`: the machine's plain-TCP estimate (limits' own);
 * `bothEndsLocal`: the shape keeps both ends here (else the client's memory is not ours).
 */
export function tlsWalls(
  r: Pick<MaxResult, 'memory'> & { tls: TlsResult },
  memoryBytes: number,
  estimate: number,
  bothEndsLocal: boolean,
): LimitsTls {
  const t = r.tls;
  const b = t.baseline;
  const cores = t.walls.cores;
  const kernel = r.memory.kernelBytesPerConnection;
  const figures = (f: TlsRunFigures | undefined) => {
    const server = f?.server.pssBytesPerConnection ?? 0;
    const client = f?.client.pssBytesPerConnection ?? 0;
    const bytes = server + (bothEndsLocal ? client + kernel : kernel / 2);
    return {
      serverUsPerHandshake: f?.server.cpuUsPerHandshake ?? 0,
      clientUsPerHandshake: f?.client.cpuUsPerHandshake ?? 0,
      serverBytesPerConnection: server,
      clientBytesPerConnection: client,
      kernelBytesPerConnection: kernel,
      bytesPerConnection: Math.round(bytes),
      memoryWall: bytes > 0 ? Math.floor(memoryBytes / bytes) : 0,
    };
  };
  const tls = figures(t.run);
  const tcp = figures(b);
  const open = Math.max(0, Math.min(estimate, tls.memoryWall || estimate));
  return {
    measured: {
      connections: t.run.requested,
      established: t.run.established,
      cert: t.cert,
      key: t.key,
      protocol: t.negotiated.protocol || t.version,
      cipher: t.negotiated.cipher,
      group: t.negotiated.group,
      openssl: t.openssl,
      rampMs: t.run.rampMs,
      baselineRampMs: b?.rampMs ?? 0,
    },
    cores,
    memoryBytes,
    open,
    kernelCounted: t.walls.memory.kernelCounted,
    tls: { ...tls, cpuWall: cpuWall(cores, tls.serverUsPerHandshake, open) },
    tcp: { ...tcp, cpuWall: cpuWall(cores, tcp.serverUsPerHandshake, open) },
  };
}
