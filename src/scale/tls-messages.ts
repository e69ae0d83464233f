/**
 * The messages between the `max --tls` coordinator and its workers: TLS servers and TLS clients
 * in separate processes, so that each side's CPU and memory are read from its own processes.
 * The same workers without `tls` are the plain-TCP baseline.
 */
import type { Destination } from './engine.js';

/** What both sides need to speak TLS: one secureContext per process is built from it. */
export interface TlsSetup {
  certPem: string;
  keyPem: string;
  version: 'TLSv1.2' | 'TLSv1.3';
  /** the servers' shared session-ticket keys (48 bytes, base64): a ticket from one works on all */
  ticketKeys: string;
  /** clients: the first handshake full, then every other resumes its session */
  resume: boolean;
  /** clients: check the server's certificate against ours (loopback) or accept any (--target) */
  verify: boolean;
}

export type ToTlsWorker =
  | {
      cmd: 'setup';
      role: 'server' | 'client';
      /** undefined: plain TCP (the baseline) */
      tls?: TlsSetup;
      /** the server listens here (port 0); the client binds its source address here */
      host: string;
      /** the client connects to these, in turn */
      targets: Destination[];
      connectTimeoutMs: number;
    }
  /** rate: this worker's connects per second (--rate over the client workers); none: unpaced */
  | { cmd: 'ramp'; connections: number; window: number; rate?: number }
  /** stop ramping; `now` (an interrupt): abandon the handshakes under way instead of finishing them */
  | { cmd: 'stop'; now?: boolean }
  /** a full garbage collection, then the stats: memory is read as held, not as garbage */
  | { cmd: 'gc' }
  | { cmd: 'verify'; timeoutMs: number }
  /** the ports of every held connection: the client's source ports, the server's peer ports */
  | { cmd: 'ports' }
  | { cmd: 'teardown' };

export interface TlsStats {
  /** client: handshakes done (TCP connects with plain); server: the same, seen from its side */
  established: number;
  /** of those, resumed sessions (isSessionReused) */
  resumed: number;
  inFlight: number;
  /** failures by errno name or OpenSSL code (ERR_SSL_WRONG_VERSION_NUMBER) */
  failures: Record<string, number>;
  /** the first handshake failure in words, with the destination */
  firstError?: string;
  /** the first TLS handshake that failed (client), in words */
  handshakeError?: string;
  /** a failure that stops the ramp (a limit, or a handshake that cannot succeed) */
  wall?: string;
  /** held connections lost after their handshake (a reset, a FIN, an error) */
  lost: number;
  /** what the first handshake negotiated */
  negotiated?: { protocol: string; cipher: string; group: string };
  /** client: handshake times, connect() to secureConnect (ms), a sample of up to 2,000 */
  latenciesMs: number[];
}

/** A worker's stats before it has done anything. */
export function emptyTlsStats(): TlsStats {
  return { established: 0, resumed: 0, inFlight: 0, failures: {}, lost: 0, latenciesMs: [] };
}

export type FromTlsWorker =
  | { type: 'ready'; pid: number; port: number }
  | { type: 'progress'; stats: TlsStats }
  | { type: 'ramped'; stats: TlsStats }
  | {
      type: 'verified';
      result: { alive: number; dead: number; unverified: number };
      stats: TlsStats;
    }
  | { type: 'ports'; ports: number[] }
  | { type: 'closed'; closed: number }
  | { type: 'error'; message: string; code?: string };
