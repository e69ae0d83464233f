/** The echo listener (one process, or a group of them), and the heartbeat connector. */
export * from './connector.js';
export * from './listener.js';
export {
  autoListenerWorkers,
  type GroupEvent,
  type ListenerGroup,
  type ListenerGroupOptions,
  startListenerGroup,
  type WorkerExit,
} from './listener-group.js';
