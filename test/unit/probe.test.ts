/** `--probe`: presets, send:DATA,expect:PREFIX with C-style escapes, refusals in words. */
import { describe, expect, it } from 'vitest';
import { parseProbe, serverWallWords, showBytes, unescapeC } from '../../src/scale/probe.js';

describe('probes', () => {
  it('decodes C-style escapes, and refuses unknown ones', () => {
    expect(unescapeC('PING\\r\\n')).toBe('PING\r\n');
    expect(unescapeC('a\\x00b\\\\c\\,d\\t')).toBe('a\0b\\c,d\t');
    expect(() => unescapeC('bad\\q')).toThrow(/unknown escape/);
    expect(() => unescapeC('end\\')).toThrow(/trailing backslash/);
  });

  it('parses presets and send:DATA,expect:PREFIX', () => {
    expect(parseProbe('redis')).toMatchObject({ send: 'PING\r\n', expect: '+PONG', end: '\r\n' });
    const http = parseProbe('http', '127.0.0.1');
    expect(http.send).toBe('HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: fourtuple\r\n\r\n');
    expect(http).toMatchObject({ expect: 'HTTP/1.', end: '\r\n\r\n' });
    expect(parseProbe('none').kind).toBe('none');
    expect(parseProbe('echo').kind).toBe('echo');
    expect(parseProbe('send:version\\r\\n,expect:VERSION')).toMatchObject({
      kind: 'send',
      send: 'version\r\n',
      expect: 'VERSION',
    });
    // a comma inside DATA is escaped
    expect(parseProbe('send:a\\,b,expect:a').send).toBe('a,b');
    expect(() => parseProbe('ping')).toThrow(/send:DATA,expect:PREFIX/);
    expect(() => parseProbe('send:,expect:x')).toThrow(/at least one byte/);
  });

  it("names a server's refusal in words, with its bytes", () => {
    const words = serverWallWords(
      'closed-at-once',
      { count: 3, firstBytes: '-ERR max number of clients reached\r\n' },
      9984,
    );
    expect(words).toBe(
      'the server stopped accepting at 9,984 connections: it answered `-ERR max number of clients reached` and closed (Redis `maxclients`, default 10000, lowered to its RLIMIT_NOFILE minus 32)',
    );
    expect(serverWallWords('closed-at-once', { count: 1 }, 1000)).toContain('worker_connections');
    expect(serverWallWords('connect-timeout', { count: 1 }, 5, { somaxconn: 4096 })).toContain(
      'somaxconn = 4096',
    );
    expect(showBytes('a\r\n\x01')).toBe('a\\r\\n\\x01');
  });
});
