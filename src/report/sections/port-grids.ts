/**
 * The port rules as grids: the 16 x 2 bind matrix (rows: the first socket's options, columns:
 * the second socket's, for ip_autobind_reuse 0 and 1), once per way of narrowing the range, and
 * the order experiments (rows: the listener's options). Each cell is coloured by what the kernel
 * did; a cell whose prediction missed says so, with the prediction.
 */
import { esc } from '../html.js';
import type { ExperimentInput } from '../types.js';

const CODES = ['none', 'ra', 'rp', 'both'] as const;
type Code = (typeof CODES)[number];
const LABEL: Record<Code, string> = { none: 'none', ra: 'RA', rp: 'RP', both: 'RA+RP' };
const LEGEND = 'RA = SO_REUSEADDR, RP = SO_REUSEPORT.';

function codeOf(reuseaddr: unknown, reuseport: unknown): Code {
  return reuseaddr ? (reuseport ? 'both' : 'ra') : reuseport ? 'rp' : 'none';
}

/** One cell: the outcome of socket `id` in `r`, coloured; a miss shows the prediction too. */
function cell(r: ExperimentInput | undefined, id: string, okText: string): string {
  if (!r) return '<td class="muted">-</td>';
  const title = `${r.name}: ${r.skipped ?? r.explanation}`;
  if (r.skipped !== undefined) {
    return `<td><span class="badge neutral" title="${esc(title)}">skipped</span></td>`;
  }
  const got = r.observed.outcomes[id] ?? 'not tried';
  // the errno alone (the grid says which call); the title names the experiment
  const text = got === 'ok' ? okText : got.replace(/^(bind|listen|connect) /, '');
  const cls = !r.matches ? 'bad' : got === 'ok' ? 'good' : 'warn';
  const miss = r.matches ? '' : ` \u2717 predicted ${r.predicted.outcomes[id] ?? '-'}`;
  return `<td><span class="badge ${cls}" title="${esc(title)}">${esc(text + miss)}</span></td>`;
}

function head(groups: string[], columns: string[], corner: string): string {
  const per = columns.length / groups.length;
  return (
    `<thead><tr><th rowspan="2">${esc(corner)}</th>${groups.map((g) => `<th colspan="${per}">${esc(g)}</th>`).join('')}</tr>` +
    `<tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`
  );
}

/** The bind matrix for one way of narrowing ('sysctl' or 'socket'), or '' when it did not run. */
function bindMatrix(records: readonly ExperimentInput[], via: string): string {
  const runs = records.filter((r) => r.of === 'exhausted-bind' && r.variant.via === via);
  if (!runs.length) return '';
  const at = new Map<string, ExperimentInput>();
  for (const r of runs) {
    const ra = r.variant.reuseaddr as boolean[];
    const rp = r.variant.reuseport as boolean[];
    at.set(`${codeOf(ra[0], rp[0])}/${codeOf(ra[1], rp[1])}/${r.variant.autobindReuse}`, r);
  }
  const columns = CODES.map((c) => `B2 ${LABEL[c]}`);
  const rows = [0, 1].flatMap((n) => [
    `<tr><th colspan="${CODES.length + 1}">net.ipv4.ip_autobind_reuse=${n}</th></tr>`,
    ...CODES.map(
      (first) =>
        `<tr><th scope="row">B1 ${esc(LABEL[first])}</th>${CODES.map((second) => cell(at.get(`${first}/${second}/${n}`), 'B2', 'shares')).join('')}</tr>`,
    ),
  ]);
  const shared = runs.filter((r) => r.observed.outcomes.B2 === 'ok').length;
  const how =
    via === 'socket'
      ? "each socket's IP_LOCAL_PORT_RANGE narrowed to one port"
      : "the namespace's net.ipv4.ip_local_port_range set to one port";
  return (
    `<h3>The bind matrix: bind(ip, 0) twice in a one-port world (${esc(how)})</h3>` +
    `<p>${shared} of ${runs.length} second binds share the one port; the rest fail with EADDRINUSE. ${LEGEND} The rule behind each cell is written out after the matrices.</p>` +
    `<div class="table-wrap"><table class="experiments">${head(['second socket (B2)'], columns, 'first (B1) \\ second')}<tbody>${rows.join('')}</tbody></table></div>`
  );
}

/**
 * The bind matrix's predictions and the kernel rules behind them, in words: one entry per
 * distinct rule, naming its cells (a tooltip is no place for the only copy of the explanation).
 */
function bindRules(records: readonly ExperimentInput[]): string {
  const groups = new Map<string, { r: ExperimentInput; cells: Set<string> }>();
  for (const r of records.filter((x) => x.of === 'exhausted-bind')) {
    const ra = r.variant.reuseaddr as boolean[];
    const rp = r.variant.reuseport as boolean[];
    const key = `${r.predictionText}\n${r.explanation}`;
    const g = groups.get(key) ?? { r, cells: new Set<string>() };
    g.cells.add(
      `B1 ${LABEL[codeOf(ra[0], rp[0])]} / B2 ${LABEL[codeOf(ra[1], rp[1])]} (ip_autobind_reuse=${r.variant.autobindReuse})`,
    );
    groups.set(key, g);
  }
  if (!groups.size) return '';
  const items = [...groups.values()].map(
    ({ r, cells }) =>
      `<li><p><strong>Predicted: ${esc(r.predictionText)}</strong> <span class="muted">in ${cells.size} cell${cells.size === 1 ? '' : 's'}: ${esc([...cells].join(', '))}</span></p><p class="why">${esc(r.explanation)}</p></li>`,
  );
  return `<h4>The rules behind the cells</h4><ul class="rules">${items.join('')}</ul>`;
}

/** Whether the per-socket bind matrix saw what the namespace's did, cell by cell. */
function agreement(records: readonly ExperimentInput[]): string {
  const byName = new Map(records.map((r) => [r.name, r]));
  const pairs = records
    .filter((r) => r.of === 'exhausted-bind' && r.variant.via === 'sysctl' && !r.skipped)
    .flatMap((r) => {
      const twin = byName.get(`${r.name}-sockopt`);
      return twin && !twin.skipped ? [[r, twin] as const] : [];
    });
  if (!pairs.length) return '';
  const same = pairs.filter(
    ([x, y]) => JSON.stringify(x.observed.outcomes) === JSON.stringify(y.observed.outcomes),
  ).length;
  return `<p>The per-socket range (IP_LOCAL_PORT_RANGE) and the namespace's range agree on ${same} of ${pairs.length} cells.</p>`;
}

/** The order experiments: which listener options join a connector's port, and the reverse. */
function orderGrid(records: readonly ExperimentInput[]): string {
  const runs = records.filter((r) => r.of === 'order');
  if (!runs.length) return '';
  const find = (first: string, l: Code, c: Code): ExperimentInput | undefined =>
    runs.find(
      (r) => r.variant.first === first && r.variant.listener === l && r.variant.connector === c,
    );
  const rows = CODES.map(
    (l) =>
      `<tr><th scope="row">L2 ${esc(LABEL[l])}</th>${cell(find('connector', l, 'ra'), 'L2', 'listens')}${cell(find('connector', l, 'both'), 'L2', 'listens')}${cell(find('listener', l, 'ra'), 'C1', 'binds')}${cell(find('listener', l, 'both'), 'C1', 'binds')}</tr>`,
  );
  return (
    '<h3>Order matters: a connector and a listener on one ip:port</h3>' +
    `<p>Left: C1 connects from ip:P first, then L2 binds and listens on ip:P (L2's outcome). Right: L2 listens first, then C1 binds ip:P (C1's outcome). ${LEGEND}</p>` +
    `<div class="table-wrap"><table class="experiments">${head(['connector first', 'listener first'], ['C1 RA', 'C1 RA+RP', 'C1 RA', 'C1 RA+RP'], 'listener \\ connector')}<tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** Every grid the records allow, in reading order ('' when none of their families ran). */
export function portGrids(records: readonly ExperimentInput[]): string {
  return [
    bindMatrix(records, 'sysctl'),
    bindMatrix(records, 'socket'),
    agreement(records),
    bindRules(records),
    orderGrid(records),
  ].join('');
}
