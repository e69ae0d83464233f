/**
 * The tour's TLS part on loopback (only that part: the others have their own tests): both
 * certificate kinds handshaken, held and echoed, the first beside plain TCP; the terminal summary
 * and the page's "with TLS" section carry the run's own numbers. Without the system openssl the
 * part is skipped and says why, and the tour still succeeds. A `max --tls --report` page has the
 * same section.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { partSummary } from '../../src/cli/tour.js';
import type { MaxResult } from '../../src/scale/coordinator.js';
import { TOUR_TLS, type TourResult } from '../../src/tour.js';
import { formatBytes } from '../../src/units.js';
import { BIN, cli } from '../helpers/cli.js';

const ONLY_TLS = ['--skip', 'theory,demo,prove,limits,max'];
const group = (n: number): string => n.toLocaleString('en-US');

/** The page's "with TLS" section, from its opening tag to the next section. */
function tlsSectionOf(page: string): string {
  const start = page.indexOf('<section class="part" id="tls"');
  expect(start).toBeGreaterThan(0);
  return page.slice(start, page.indexOf('</section>', start));
}

/** The section shows a run's CPU per handshake and PSS per connection, both sides. */
function expectFigures(section: string, m: MaxResult): void {
  const t = m.tls!;
  for (const f of [t.run, ...(t.baseline ? [t.baseline] : [])]) {
    expect(section).toContain(`${group(f.server.cpuUsPerHandshake)} us`);
    expect(section).toContain(`${group(f.client.cpuUsPerHandshake)} us`);
    expect(section).toContain(formatBytes(f.server.pssBytesPerConnection));
    expect(section).toContain(formatBytes(f.client.pssBytesPerConnection));
  }
  expect(section).toContain(`${group(t.walls.cpu.server.handshakesPerSec)}/s`);
}

describe("the tour's TLS part", () => {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-tour-tls-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ecdsa and rsa2048, the first beside plain TCP; the summary and the page show their numbers', async () => {
    const out = join(dir, 'tour.html');
    const r = await cli(['tour', ...ONLY_TLS, '--json', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe(`report: ${out}`);
    const j = JSON.parse(r.stdout) as TourResult;
    const runs = j.tls!.runs;
    expect(j.tls!.skipped).toBeUndefined();
    expect(runs.map((m) => m.tls!.cert)).toEqual([...TOUR_TLS.certs]);
    expect(runs.map((m) => m.tls!.key)).toEqual(['ECDSA P-256', 'RSA 2048']);
    for (const m of runs) {
      expect(m.alive).toBe(TOUR_TLS.connections);
      expect(m.sockstat.clean).toBe(true);
      expect(m.tls!.run.server.cpuUsPerHandshake).toBeGreaterThan(0);
    }
    // one plain-TCP baseline, with the first run
    expect(runs[0]!.tls!.baseline?.alive).toBe(TOUR_TLS.connections);
    expect(runs[1]!.tls!.baseline).toBeUndefined();

    const text = partSummary('tls', j);
    expect(text).toContain('== tls:');
    const base = runs[0]!.tls!.baseline!;
    expect(text).toContain(
      `${group(base.server.cpuUsPerHandshake)} us / ${group(base.client.cpuUsPerHandshake)} us`,
    );
    for (const m of runs) {
      const f = m.tls!.run;
      expect(text).toContain(
        `${group(f.server.cpuUsPerHandshake)} us / ${group(f.client.cpuUsPerHandshake)} us`,
      );
      expect(text).toContain(`${group(m.tls!.walls.cpu.server.handshakesPerSec)}/s`);
    }

    const section = tlsSectionOf(readFileSync(out, 'utf8'));
    for (const m of runs) expectFigures(section, m);
    expect(section.match(/<canvas id="chart-tls-(cpu|mem)-\d+"/g)).toHaveLength(2);
  }, 180_000);

  it('without openssl: skipped, saying why; the tour still succeeds and its page says so', () => {
    const out = join(dir, 'no-openssl.html');
    // no directory on PATH has an openssl binary (node itself is run by its path)
    const r = spawnSync(process.execPath, [BIN, 'tour', ...ONLY_TLS, '--out', out], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: join(dir, 'empty') },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      'skipped: cannot make a ecdsa certificate: the openssl binary is not installed',
    );
    const section = tlsSectionOf(readFileSync(out, 'utf8'));
    expect(section).toContain("The tour's TLS part was skipped");
    expect(section).toContain('openssl binary is not installed');
  });
});

describe('max --tls --report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fourtuple-max-tls-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the page has the "with TLS" section with the run\'s numbers', async () => {
    const out = join(dir, 'max.html');
    const r = await cli([
      'max',
      '--tls',
      '--connections',
      '200',
      '--hold',
      '0',
      '--json',
      '--report',
      out,
    ]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as MaxResult;
    const section = tlsSectionOf(readFileSync(out, 'utf8'));
    expectFigures(section, m);
    expect(section).toContain(group(m.tls!.walls.memory.tls));
  }, 120_000);
});
