/** The limits of this machine, as `fourtuple limits` read and predicted them: one table. */

import { formatBytes } from '../../units.js';
import { esc, grouped, groupedHtml } from '../html.js';
import type { LimitsInput } from '../types.js';

function limitRow(limits: LimitsInput, l: LimitsInput['limits'][number]): string {
  const binding = l.name === limits.binding;
  const wall = l.name === limits.machine.binding;
  const badges =
    (binding ? ' <span class="badge warn">first wall for one process</span>' : '') +
    (wall ? ' <span class="badge warn">wall for the machine</span>' : '') +
    (l.applies ? '' : ' <span class="badge neutral">does not bind</span>');
  return (
    `<tr${binding || wall ? ' class="hl-warn"' : ''}><th scope="row"><code>${esc(l.name)}</code>${badges}${l.note ? `<span class="sub">${esc(l.note)}</span>` : ''}</th>` +
    `<td class="num" data-label="value">${/^\d+$/.test(l.value) ? groupedHtml(l.value) : esc(l.value)}</td>` +
    `<td class="num" data-label="connections it allows">${l.ceiling === null ? '<span class="muted">-</span>' : groupedHtml(l.ceiling)}</td>` +
    `<td data-label="scope">${esc(l.scope)}</td><td data-label="how to raise it">${l.raise ? `<code>${esc(l.raise)}</code>` : ''}</td></tr>`
  );
}

function measuredHtml(m: LimitsInput['measured']): string {
  if (!m) return '';
  return `<p>Measured cost of one established loopback connection (both ends, over ${grouped(m.connections)} connections): kernel <strong>${formatBytes(m.kernelBytesPerConnection)}</strong>, the <code>max</code> worker that held them <strong>${formatBytes(m.userBytesPerConnection)}</strong> (its own memory; ${formatBytes(m.holderBaselineBytes)} before the first).</p>`;
}

/** The answer, what one connection costs, and every limit with the command that raises it. */
export function limitsHtml(limits: LimitsInput): string {
  const rows = limits.limits.map((l) => limitRow(limits, l)).join('');
  return (
    `<h3>Limits</h3><p>${esc(limits.answer)}</p>${measuredHtml(limits.measured)}` +
    `<div class="table-wrap"><table class="limits"><thead><tr><th>limit</th><th class="num">value</th><th class="num">connections it allows</th><th>scope</th><th>how to raise it (printed, never run)</th></tr></thead><tbody>${rows}</tbody></table></div>`
  );
}
