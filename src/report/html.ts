/** Small pure helpers for building the page: escaping, number formatting, value coercion. */
import type { Count } from './types.js';

/** Escapes text for HTML element content and attribute values. */
export function esc(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A count as a bigint, or undefined when it is not an integer (e.g. 'auto'). */
export function toBig(v: Count | null | undefined): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  return /^-?\d+$/.test(v.trim()) ? BigInt(v.trim()) : undefined;
}

/** A count as a float for charts (exact up to 2^53, approximate beyond). */
export function toNum(v: Count | null | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  const b = toBig(v);
  return b === undefined ? undefined : Number(b);
}

/** Groups digits by thousands: 1234567 -> 1,234,567; any integer size; other text unchanged. */
export function grouped(v: Count | null | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toLocaleString('en-US');
  const s = String(v);
  if (!/^-?\d+$/.test(s)) return s;
  const neg = s.startsWith('-');
  return (neg ? '-' : '') + (neg ? s.slice(1) : s).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Seconds in a short human form: 850 ms, 12.3 s, 2 min 5 s. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A grouped number as HTML that may wrap only after its commas (for 40-digit counts). */
export function groupedHtml(v: Count | null | undefined): string {
  return esc(grouped(v)).replaceAll(',', ',<wbr>');
}

/** JSON for a <script type="application/json"> block: BigInt as strings, no "</" inside. */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
    .replaceAll('<', '\\u003c')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}
