/** The messages between the `max` coordinator and its workers (over the fork IPC channel). */
import type { Destination, EngineStats, VerifyResult } from './engine.js';
import type { PortStrategy } from './ports.js';
import type { Probe } from './probe.js';

export type ToWorker =
  | {
      cmd: 'setup';
      /** listen on these hosts (port 0) and connect to our own listeners */
      listenHosts: string[];
      /** or connect to these (with --target) */
      targets: Destination[];
      /** lower this worker's RLIMIT_NOFILE soft limit (a descriptor budget) */
      fdLimit?: number;
      backlog: number;
      /** how each connection is checked (default echo) */
      probe?: Probe;
      /** a connect whose SYN is unanswered this long fails with ETIMEDOUT */
      connectTimeoutMs?: number;
      /** how each connection gets its source address and port (default kernel) */
      portStrategy?: PortStrategy;
    }
  | {
      cmd: 'ramp';
      connections: number;
      window: number;
      /** connects per second for this worker; 0 = as fast as possible */
      rate: number;
    }
  | { cmd: 'stop' }
  | { cmd: 'verify'; timeoutMs: number }
  /** a probe round during the hold (--probe-interval) */
  | { cmd: 'probe'; timeoutMs: number }
  | { cmd: 'teardown' };

export type FromWorker =
  | {
      type: 'ready';
      pid: number;
      fdLimit: number;
      baseFds: number;
      capacity: number;
      listeners: Destination[];
    }
  | { type: 'progress'; stats: EngineStats }
  | { type: 'ramped'; stats: EngineStats; ms: number }
  | { type: 'verified'; result: VerifyResult; stats: EngineStats }
  | { type: 'probed'; result: VerifyResult; stats: EngineStats; at: number }
  | { type: 'closed'; closed: number }
  | {
      type: 'error';
      message: string;
      /** the error's code (an errno name or a FOURTUPLE_* code) when it has one */
      code?: string;
    };
