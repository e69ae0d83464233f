/**
 * The one way fourtuple writes a number of bytes, in the terminal, in `limits`, on the report
 * page and in the page's charts: IEC units (B, KiB, MiB, GiB, TiB, powers of 1024), as the
 * kernel reports memory (/proc/meminfo's "kB" are KiB), with one decimal: 1023 B, 1.0 KiB,
 * 8.3 KiB, 23.0 GiB.
 *
 * `formatBytes` is written as plain JavaScript with no imports or outer names, because the
 * report's browser script embeds its source text (`formatBytes.toString()`): the charts' axes
 * use the very same function.
 */

/** Bytes in IEC units with one decimal ("8.3 KiB"); '' for a value that is not a number. */
export function formatBytes(n: number | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (Math.round(v) < 1024) return `${sign}${Math.round(v)} B`;
  let i = 0;
  // 1023.96 KiB is written 1.0 MiB, not 1024.0 KiB: the unit is chosen on the rounded value
  while (i < units.length - 1 && Math.round((v / 1024) * 10) / 10 >= 1) {
    v /= 1024;
    i++;
    if (Math.round(v * 10) / 10 < 1024) break;
  }
  return `${sign}${v.toFixed(1)} ${units[i]}`;
}
