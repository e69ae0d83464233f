/** The page's stylesheet: system fonts, light and dark palettes, tables that read without JS. */
export const STYLE = `
:root {
  color-scheme: light dark;
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  --font-mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  --bg: #f6f7f9; --surface: #ffffff; --text: #1b1f24; --muted: #5b6470; --border: #dfe3e8;
  --grid: rgba(27, 31, 36, 0.08); --accent: #2563eb; --accent-soft: #e8efff;
  --good: #15803d; --good-soft: #e7f6ec; --warn: #c2410c; --warn-soft: #fdf0e7;
  --bad: #b91c1c; --bad-soft: #fdeaea; --neutral: #94a3b8;
  --c1: #2563eb; --c2: #d97706; --c3: #059669; --c4: #db2777; --c5: #7c3aed; --c6: #0891b2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116; --surface: #161b22; --text: #e6e8eb; --muted: #9aa4af; --border: #2b323c;
    --grid: rgba(230, 232, 235, 0.09); --accent: #6ea8fe; --accent-soft: #17233a;
    --good: #4ade80; --good-soft: #12281b; --warn: #fb923c; --warn-soft: #2d1d10;
    --bad: #f87171; --bad-soft: #2d1414; --neutral: #64748b;
    --c1: #6ea8fe; --c2: #fbbf24; --c3: #34d399; --c4: #f472b6; --c5: #a78bfa; --c6: #22d3ee;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--text); font: 16px/1.55 var(--font);
  -webkit-text-size-adjust: 100%; }
body { margin: 0; }
.wrap { max-width: 1160px; margin: 0 auto; padding: 0 24px; }
header.top { background: var(--surface); border-bottom: 1px solid var(--border); padding: 32px 0 20px; }
header.top h1 { font-size: 30px; line-height: 1.2; margin: 0 0 6px; letter-spacing: -0.01em; }
header.top .lede { margin: 0; color: var(--muted); max-width: 70ch; }
header.top .cut-short { margin: .5rem 0 0; padding: .4rem .7rem; border-left: 4px solid #c62828; max-width: 70ch; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 16px; }
nav.toc a { color: var(--accent); text-decoration: none; font-size: 14px; font-weight: 600;
  padding: 4px 12px; border: 1px solid var(--border); border-radius: 999px; background: var(--bg); }
nav.toc a:hover { border-color: var(--accent); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  margin: 20px 0 0; }
.card { background: var(--bg); border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); }
.card .v { font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.25;
  overflow-wrap: anywhere; }
.card .s { font-size: 13px; color: var(--muted); }
main { padding: 8px 0 40px; }
section.part { background: var(--surface); border: 1px solid var(--border); border-radius: 14px;
  padding: 24px 28px 28px; margin: 24px 0; }
section.part > h2 { font-size: 22px; margin: 0 0 4px; letter-spacing: -0.005em; }
section.part > .intro { color: var(--muted); margin: 0 0 12px; max-width: 80ch; }
h3 { font-size: 17px; margin: 28px 0 10px; }
h3:first-of-type { margin-top: 16px; }
p { max-width: 80ch; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; align-items: start; }
.grid2.wide-left { grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); }
.grid2.wider-left { grid-template-columns: minmax(0, 1.6fr) minmax(0, 1fr); }
td.nowrap { white-space: nowrap; }
@media (max-width: 900px) { .grid2, .grid2.wide-left, .grid2.wider-left { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; }
.chart { position: relative; height: 300px; }
.chart.tall { height: 340px; }
.no-js .chart { display: none; }
.no-js .js-note { display: block; }
.js-note { display: none; font-size: 13px; color: var(--muted); }
.charts2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 20px 28px; }
@media (max-width: 900px) { .charts2 { grid-template-columns: minmax(0, 1fr); } }
.charts2 figure { background: var(--bg); border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px 10px; }
.charts2 figure h4 { margin: 0 0 6px; font-size: 14px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted);
  font-weight: 600; border-bottom-width: 2px; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { font-family: var(--font-mono); font-size: 13px; }
td.big { min-width: 12ch; }
tr.hl-good > * { background: var(--good-soft); }
tr.hl-warn > * { background: var(--warn-soft); }
.sub { display: block; font-weight: 400; color: var(--muted); font-size: 12.5px; font-family: var(--font); }
code, .mono { font-family: var(--font-mono); font-size: 0.9em; }
.badge { display: inline-block; font-size: 12px; font-weight: 700; padding: 2px 9px; border-radius: 999px;
  white-space: nowrap; }
.badge.good { color: var(--good); background: var(--good-soft); }
.badge.bad { color: var(--bad); background: var(--bad-soft); }
.badge.warn { color: var(--warn); background: var(--warn-soft); }
.badge.neutral { color: var(--muted); background: var(--bg); border: 1px solid var(--border); }
.chip { display: inline-block; font-family: var(--font-mono); font-size: 12px; padding: 1px 7px;
  margin: 1px 2px 1px 0; border-radius: 6px; border: 1px solid var(--border); white-space: nowrap; }
.chip.on { border-color: var(--accent); color: var(--accent); }
.chip.off { color: var(--muted); text-decoration: line-through; }
ol.steps { margin: 0; padding: 0; list-style: none; font-family: var(--font-mono); font-size: 12.5px; }
ol.steps li { padding-left: 1em; text-indent: -1em; }
.ok { color: var(--good); font-weight: 700; }
.errno { color: var(--bad); font-weight: 700; }
.explain { background: var(--accent-soft); border-left: 4px solid var(--accent); border-radius: 6px;
  padding: 12px 16px; margin: 16px 0 0; max-width: none; }
.callout { display: flex; gap: 14px; align-items: flex-start; background: var(--warn-soft);
  border: 1px solid var(--warn); border-radius: 10px; padding: 14px 18px; margin: 8px 0 18px; }
.callout .icon { font-size: 22px; line-height: 1.2; color: var(--warn); font-weight: 800; }
.callout strong { display: block; font-size: 17px; }
.callout.good { background: var(--good-soft); border-color: var(--good); }
.callout.good .icon { color: var(--good); }
svg.graph { width: 100%; max-width: 620px; height: auto; display: block; margin: 0 auto; }
svg.graph .edge { fill: none; stroke-width: 1.4; }
svg.graph .e-between { stroke: var(--c1); stroke-opacity: 0.55; }
svg.graph .e-same { stroke: var(--c2); stroke-opacity: 0.75; }
svg.graph .e-self { stroke: var(--c4); stroke-opacity: 0.9; stroke-width: 1.6; }
svg.graph .g-machine { fill: none; stroke-width: 18; stroke-linecap: round; stroke-opacity: 0.18; }
svg.graph .g-node { stroke: var(--surface); stroke-width: 2; }
svg.graph .g-m0 { stroke: var(--c3); } svg.graph .g-m1 { stroke: var(--c5); } svg.graph .g-m2 { stroke: var(--c6); }
svg.graph .g-m3 { stroke: var(--c2); } svg.graph .g-m4 { stroke: var(--c1); } svg.graph .g-m5 { stroke: var(--c4); }
svg.graph circle.g-m0 { fill: var(--c3); } svg.graph circle.g-m1 { fill: var(--c5); } svg.graph circle.g-m2 { fill: var(--c6); }
svg.graph circle.g-m3 { fill: var(--c2); } svg.graph circle.g-m4 { fill: var(--c1); } svg.graph circle.g-m5 { fill: var(--c4); }
svg.graph circle.g-node { stroke: var(--surface); }
svg.graph text { fill: var(--text); font-family: var(--font); }
svg.graph .g-mlabel { font-size: 15px; font-weight: 700; }
svg.graph .g-plabel { font-size: 12px; fill: var(--muted); font-family: var(--font-mono); }
.legend { display: flex; flex-wrap: wrap; gap: 14px; justify-content: center; font-size: 13px; color: var(--muted); margin-top: 4px; }
.legend i { display: inline-block; width: 18px; height: 3px; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
details { margin-top: 14px; }
summary { cursor: pointer; color: var(--accent); font-weight: 600; font-size: 14px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 4px 0 8px; }
.facts .card .v { font-size: 16px; }
table.experiments { font-size: 13.5px; }
td code, th code { overflow-wrap: anywhere; }
/* on a narrow screen each limit (and each TLS row) is a card of its own: the name, then its figures labelled */
@media (max-width: 900px) {
  table.limits thead, table.tls thead { display: none; }
  table.limits, table.limits tbody, table.limits tr, table.limits th, table.limits td,
  table.tls, table.tls tbody, table.tls tr, table.tls th, table.tls td { display: block; }
  table.limits tr, table.tls tr { border: 1px solid var(--border); border-radius: 10px; margin: 0 0 10px; padding: 6px 0; }
  table.limits th, table.limits td, table.tls th, table.tls td { border: 0; padding: 3px 12px; text-align: left; }
  table.limits td[data-label]::before, table.tls td[data-label]::before { content: attr(data-label) ": "; color: var(--muted);
    font-family: var(--font); font-size: 12.5px; }
  table.limits td:empty, table.tls td:empty { display: none; }
}
@media (max-width: 900px) { thead th { white-space: normal; } }
h4.family { font-size: 15px; margin: 22px 0 8px; }
.exps { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 460px), 1fr)); gap: 14px; }
article.exp { background: var(--bg); border: 1px solid var(--border); border-radius: 10px; padding: 12px 16px;
  font-size: 14px; min-width: 0; overflow-wrap: anywhere; }
article.exp header code { font-weight: 700; }
article.exp h4 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted);
  margin: 10px 0 2px; }
article.exp p { margin: 0 0 4px; }
article.exp .opts { margin: 4px 0; }
article.exp ul.topo { margin: 4px 0; padding-left: 1.2em; color: var(--muted); font-size: 13px; }
article.exp .pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0 16px; }
@media (max-width: 560px) { article.exp .pair { grid-template-columns: minmax(0, 1fr); } }
article.exp .miss { color: var(--bad); }
article.exp details { margin-top: 8px; }
article.exp summary { font-size: 13px; }
ul.rules { padding-left: 1.2em; font-size: 14px; }
ul.rules li { margin-bottom: 8px; }
ul.rules p { margin: 0 0 2px; max-width: none; }
dl.derive { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; margin: 14px 0 0; }
dl.derive dt { font-weight: 600; }
dl.derive dd { margin: 0; color: var(--muted); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; font-size: 14px; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 13px; padding: 8px 0 40px; }
footer p { max-width: none; }
.muted { color: var(--muted); }
@media print { .chart { break-inside: avoid; } section.part { break-inside: avoid-page; } }
`;
