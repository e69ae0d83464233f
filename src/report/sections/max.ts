/** The practice section: one `max` run, what it held, what stopped it, and its time series. */
import { showBytes } from '../../scale/probe.js';
import { wallMeaning } from '../../sockets/errno.js';
import { formatBytes } from '../../units.js';
import { duration, esc, grouped } from '../html.js';
import type { LimitsInput, MaxInput } from '../types.js';
import { card, errnoHtml, type Section } from './common.js';
import {
  connectionsChart,
  type Drawn,
  failedErrnos,
  failuresChart,
  fillChart,
  memoryChart,
  rateChart,
  seriesTable,
} from './max-charts.js';

/**
 * src/scale's stop reasons as what the ramp did, each a clause that reads on its own ("Reached
 * the requested count") and after a count ("1,000 held: stopped by a wall").
 */
const STOP_WORDS: Readonly<Record<MaxInput['stoppedBy']['reason'], string>> = {
  target: 'reached the requested count',
  duration: 'ran out of time (--duration)',
  'memory-guard': 'stopped by the memory guard (memory free for sockets reached the floor)',
  wall: 'stopped by a wall',
  interrupted: 'was interrupted',
  'worker-crash': 'stopped when a worker process crashed',
  capacity: 'filled the planned capacity',
};

/** How the ramp ended, as a clause: "stopped by a wall: EMFILE at socket". */
export function stopWords(stop: MaxInput['stoppedBy']): string {
  const what = [stop.errno, stop.syscall ? `at ${stop.syscall}` : undefined]
    .filter(Boolean)
    .join(' ');
  // a server's wall is named as such; a client's reads "stopped by a wall: EMFILE at socket"
  const words =
    stop.reason === 'wall' && stop.side === 'server'
      ? "stopped by the server's wall"
      : (STOP_WORDS[stop.reason] ?? `stopped: ${stop.reason}`);
  return what ? `${words}: ${what}` : words;
}

/** The ramp's end: a success when it reached the requested count, a warning otherwise. */
function callout(stop: MaxInput['stoppedBy']): string {
  const meaning = stop.errno ? wallMeaning(stop.errno) : '';
  const detail = [stop.detail, meaning.charAt(0).toUpperCase() + meaning.slice(1)]
    .filter(Boolean)
    .join('. ');
  const words = stopWords(stop);
  const good = stop.reason === 'target';
  return `<div class="callout${good ? ' good' : ''}"><span class="icon" aria-hidden="true">${good ? '&#10003;' : '!'}</span><div><strong>${esc(words.charAt(0).toUpperCase() + words.slice(1))}</strong>${detail ? `<span>${esc(detail)}</span>` : ''}</div></div>`;
}

function practiceCards(max: MaxInput): string {
  const { rate, memory: mem } = max;
  const requested =
    max.requested === 'auto'
      ? 'as many as the machine allows'
      : `asked for ${grouped(max.requested)}`;
  return `<div class="cards">${[
    card('peak established', grouped(max.established), requested),
    card('accepted', grouped(max.accepted), 'by fourtuple listeners'),
    card(
      'verified alive',
      grouped(max.alive),
      `${grouped(max.dead)} dead${max.unverified ? `, ${grouped(max.unverified)} unverified` : ''}`,
    ),
    card(
      'probe',
      max.probes?.probe ?? 'echo',
      max.probes?.intervalMs
        ? `every ${duration(max.probes.intervalMs)} during the hold`
        : 'at verify',
    ),
    card('time to peak', duration(max.timing.timeToPeakMs)),
    card(
      'connections per second',
      grouped(Math.round(rate.medianPerSec)),
      `median; peak ${grouped(Math.round(rate.peakPerSec))}`,
    ),
    card(
      'memory per connection',
      formatBytes(mem.totalBytesPerConnection),
      `kernel ${formatBytes(mem.kernelBytesPerConnection)} + processes ${formatBytes(mem.processRssBytesPerConnection)}`,
    ),
    card('worker processes', grouped(max.workers)),
  ].join('')}</div>`;
}

/** The charts (with what they declare pushed on `charts`) and the samples as a table. */
function seriesHtml(max: MaxInput, limits: LimitsInput | undefined, charts: Drawn[]): string {
  const series = max.series;
  const slab0 = max.memory.slabBeforeBytes;
  const errnos = failedErrnos(series);
  charts.push(
    connectionsChart(max, limits, stopWords(max.stoppedBy)),
    rateChart(series),
    fillChart(max),
    memoryChart(series, slab0),
  );
  if (errnos.length) charts.push(failuresChart(series, errnos));
  const noFailures = errnos.length
    ? ''
    : '<figure><h4>Failures by errno</h4><p class="muted">No connection attempt failed during the run.</p></figure>';
  return (
    `<div class="charts2">${charts.map((c) => c.html).join('')}${noFailures}</div>` +
    '<p class="js-note">The charts need JavaScript; the table below has the same samples.</p>' +
    seriesTable(series, slab0, errnos)
  );
}

/**
 * What the server did, by kind (refusals, timeouts, resets, wrong replies), with the first
 * bytes it sent; and the probe rounds of the hold.
 */
function serverHtml(max: MaxInput): string {
  const kinds = Object.entries(max.failuresByKind ?? {});
  const rows = kinds
    .map(
      ([k, v]) =>
        `<tr><td>${esc(k)}</td><td class="num">${grouped(v.count)}</td><td>${v.firstBytes ? `<code>${esc(showBytes(v.firstBytes))}</code>` : ''}</td><td class="num">${v.firstAtMs !== undefined ? duration(v.firstAtMs) : ''}</td></tr>`,
    )
    .join('');
  const table = kinds.length
    ? `<h4>${max.mode === 'target' ? 'What the server did' : 'What the connections met'}</h4><table><thead><tr><th>kind</th><th>count</th><th>first bytes it sent</th><th>first at</th></tr></thead><tbody>${rows}</tbody></table>`
    : '';
  const rounds = max.probes?.rounds ?? [];
  const roundRows = rounds
    .map(
      (r) =>
        `<tr><td class="num">${duration(r.tMs)}</td><td class="num">${grouped(r.alive)}</td><td class="num">${grouped(r.died)}</td><td class="num">${grouped(r.unverified)}</td></tr>`,
    )
    .join('');
  const roundsTable = rounds.length
    ? `<h4>Probes during the hold</h4><table><thead><tr><th>at</th><th>alive</th><th>died</th><th>unverified</th></tr></thead><tbody>${roundRows}</tbody></table>`
    : '';
  return table + roundsTable;
}

export function practiceSection(max: MaxInput, limits: LimitsInput | undefined): Section {
  const drawn: Drawn[] = [];
  const chartsHtml = max.series.length ? seriesHtml(max, limits, drawn) : '';
  const totals = Object.entries(max.failures).filter(([, n]) => n > 0);
  const failHtml = totals.length
    ? `<p>Failed attempts in the whole run: ${totals.map(([e, n]) => `${errnoHtml(e)} ${grouped(n)}`).join(', ')}.</p>`
    : '';
  return {
    id: 'practice',
    title: 'Practice',
    html:
      `<p class="intro">As many concurrent connections as ${max.mode === 'target' ? 'the target server' : 'this machine'} allows, held and verified alive by ${max.probes && max.probes.probe !== 'echo' ? `the ${esc(max.probes.probe)} probe` : 'an echo'}, and what stopped the ramp.</p>` +
      callout(max.stoppedBy) +
      practiceCards(max) +
      failHtml +
      serverHtml(max) +
      (chartsHtml ? `<div style="margin-top:20px">${chartsHtml}</div>` : ''),
    charts: drawn.map((c) => c.spec),
  };
}
