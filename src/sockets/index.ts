/** The only place fourtuple talks to libc: sockets with every option under control. */
export * from './errno.js';
export { netnsPath, withNetns } from './netns.js';
export { constants as socketConstants, platformConstants } from './platform.js';
export { pendingWaits, waitReady } from './poller.js';
export { decodeSockAddr, encodeSockAddr, formatSockAddr, type SockAddr } from './sockaddr.js';
export { lastError, type OptionName, RawSocket, type SocketOptions } from './socket.js';
