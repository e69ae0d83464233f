/** src/units.ts: one way to write bytes, IEC units with one decimal, in Node and in the page. */
import { describe, expect, it } from 'vitest';
import { CLIENT_SCRIPT } from '../../src/report/charts.js';
import { formatBytes } from '../../src/units.js';

describe('formatBytes', () => {
  it('writes whole bytes below 1 KiB and switches to KiB at 1024', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1)).toBe('1 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });

  it('uses powers of 1024 with one decimal up to TiB', () => {
    expect(formatBytes(8240)).toBe('8.0 KiB');
    expect(formatBytes(1024 ** 2)).toBe('1.0 MiB');
    expect(formatBytes(20 * 1024 ** 2)).toBe('20.0 MiB');
    expect(formatBytes(1024 ** 3 - 1)).toBe('1.0 GiB');
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    // MemTotal 24684084 kB (KiB) of the development machine
    expect(formatBytes(24684084 * 1024)).toBe('23.5 GiB');
    expect(formatBytes(1024 ** 4)).toBe('1.0 TiB');
    expect(formatBytes(2048 * 1024 ** 4)).toBe('2048.0 TiB');
  });

  it('never writes 1024.0 of a unit: a value that rounds up takes the next one', () => {
    expect(formatBytes(1023.6)).toBe('1.0 KiB');
    expect(formatBytes(1024 * 1023.96)).toBe('1.0 MiB');
    expect(formatBytes(1024 * 1023.9)).toBe('1023.9 KiB');
  });

  it('keeps the sign of a negative difference and gives nothing for a non-number', () => {
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
    expect(formatBytes(-5)).toBe('-5 B');
    expect(formatBytes(undefined)).toBe('');
    expect(formatBytes(Number.NaN)).toBe('');
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('');
  });

  it("is the page's chart formatter too: its source is embedded and stands alone", () => {
    expect(CLIENT_SCRIPT).toContain(`var formatBytes = ${formatBytes.toString()};`);
    // evaluated with no outer names, as the page's script has none of this module's
    const inPage = new Function(`return ${formatBytes.toString()};`)() as typeof formatBytes;
    for (const n of [0, 999, 1023, 1024, 8240, 1024 ** 2 - 1, 3.3e9, 24684084 * 1024, -4096]) {
      expect(inPage(n), String(n)).toBe(formatBytes(n));
    }
    expect(CLIENT_SCRIPT).not.toMatch(/'kB'|'MB'|'GB'/);
  });
});
