/**
 * A server can answer with terminal escape sequences (clear screen, window title, a fake line):
 * `fourtuple connect` prints what it received with every control character escaped.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const HOSTILE = '\x1b[2J\x1b]0;pwned\x07ok\r\nfourtuple: fake line\x9b31m';
let server: Server;
let port = 0;

beforeAll(async () => {
  // a peer nobody here wrote would do the same: answer every beat with hostile bytes
  server = createServer((s) => {
    s.on('data', () => s.write(HOSTILE));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('fourtuple connect against a hostile peer', () => {
  it('prints the echo with control characters escaped, never raw', async () => {
    const r = await cli(['connect', '--to', `127.0.0.1:${port}`, '--count', '1']);
    expect(r.code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for raw control bytes
    expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(r.stdout).toContain(
      'Dub \\x1b[2J\\x1b]0;pwned\\x07ok\\r\\nfourtuple: fake line\\x9b31m\n',
    );
  });
});
