/** Machines for fourtuple's experiments: loopback addresses or network namespaces. */
export * from './exec.js';
export { IpCommandError } from './ip.js';
export * from './lab.js';
export * from './names.js';
export * from './occupants.js';
export * from './ports.js';
export * from './state.js';
export * from './support.js';
export * from './teardown.js';
