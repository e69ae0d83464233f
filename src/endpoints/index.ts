/** The echo listener and the heartbeat connector, built on src/sockets. */
export * from './connector.js';
export * from './listener.js';
