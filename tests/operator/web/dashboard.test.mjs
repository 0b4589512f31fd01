// Dashboard test in real headless Chromium (Debian /usr/bin/chromium driven by playwright-core).
// Usage: node dashboard.test.mjs <operator_demo_server binary> [screenshot.png]
// Starts the demo server (real ApiServer + dashboard files, synthetic state updated every 100 ms),
// loads the page, and asserts: it renders, receives >= 3 live WebSocket updates without a reload
// (DOM changes), shows a trade row, the P&L chart has points, pools and latency render.
// Exit 0 pass, 1 fail, 77 skipped (no chromium or no node_modules).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.TORQ_CHROMIUM || '/usr/bin/chromium';
const server = process.argv[2];
const shot = process.argv[3] || join(process.cwd(), 'operator-dashboard.png');

function skip(why) { console.log(`SKIP: ${why}`); process.exit(77); }
if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} not installed (apt-get install chromium)`);
if (!existsSync(join(here, 'node_modules', 'playwright-core'))) skip('tests/operator/web/node_modules missing (npm ci --prefix tests/operator/web)');
if (!server || !existsSync(server)) { console.error('usage: dashboard.test.mjs <operator_demo_server> [screenshot]'); process.exit(1); }

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const dir = mkdtempSync(join(tmpdir(), 'torq-dash-'));
const token = 'dash-' + Math.random().toString(36).slice(2);
const tokenFile = join(dir, 'api.token');
writeFileSync(tokenFile, token + '\n');
chmodSync(tokenFile, 0o600);

const proc = spawn(server, ['--token-file', tokenFile, '--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  let buf = '';
  const t = setTimeout(() => reject(new Error('demo server did not start in 20 s')), 20000);
  proc.stdout.on('data', (d) => {
    buf += d;
    const m = /listening (\d+)/.exec(buf);
    if (m) { clearTimeout(t); resolve(Number(m[1])); }
  });
  proc.on('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
});

let browser;
let failed = false;
const check = (cond, what) => { if (!cond) { failed = true; console.error(`FAIL: ${what}`); } else console.log(`ok: ${what}`); };

try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(`http://127.0.0.1:${port}`) && !r.url().startsWith(`ws://127.0.0.1:${port}`)) external.push(r.url()); });

  await page.goto(`http://127.0.0.1:${port}/#token=${encodeURIComponent(token)}`, { waitUntil: 'load' });
  check((await page.title()).includes('Torq'), 'page renders with its title');
  await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live', null, { timeout: 15000 });
  check(true, 'WebSocket connected');

  // >= 3 distinct live snapshots, each changing the DOM, without a reload.
  const seen = [];
  const deadline = Date.now() + 15000;
  while (seen.length < 4 && Date.now() < deadline) {
    const v = await page.evaluate(() => document.body.dataset.version || '');
    const text = await page.evaluate(() => document.querySelector('#opportunities tbody').textContent);
    if (v && (seen.length === 0 || seen[seen.length - 1].v !== v)) seen.push({ v, text });
    await page.waitForTimeout(150);
  }
  check(seen.length >= 4, `received >= 3 live updates after the first (${seen.length} snapshots seen)`);
  const changed = new Set(seen.map((s) => s.text)).size;
  check(changed >= 3, `opportunity table content changed live (${changed} distinct renders)`);
  check(navigations === 1, `no reload (${navigations} navigation)`);

  await page.waitForFunction(() => document.querySelectorAll('#trades tbody tr').length > 0, null, { timeout: 15000 });
  const trade = await page.evaluate(() => document.querySelector('#trades tbody tr').textContent);
  check(/0x[0-9a-f]{6}…[0-9a-f]{4}/.test(trade) && trade.includes('$'), `a trade row with hash and P&L: "${trade.slice(0, 80)}"`);
  await page.waitForFunction(() => Number(document.querySelector('#pnl-chart').dataset.points || 0) >= 2, null, { timeout: 15000 });
  const chart = await page.evaluate(() => {
    const c = document.querySelector('#pnl-chart');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] > 40 || d[i + 1] > 100)) lit++;
    return { points: Number(c.dataset.points), lit };
  });
  check(chart.points >= 2 && chart.lit > 100, `P&L chart drawn (${chart.points} points, ${chart.lit} lit pixels)`);
  const pools = await page.evaluate(() => document.querySelectorAll('#pools tbody tr').length);
  check(pools === 15, `pool table rows (${pools})`);
  const quarantined = await page.evaluate(() => document.querySelector('#pools tbody').textContent.includes('quarantined'));
  check(quarantined, 'pool quarantine state shown');
  const stages = await page.evaluate(() => [...document.querySelectorAll('#latency .hist')].map((e) => e.dataset.stage));
  check(stages.includes('decode') && stages.includes('search'), `latency histograms (${stages.join(', ')})`);
  const ups = await page.evaluate(() => ({ hidden: document.querySelector('#upstreams').hidden,
    rows: [...document.querySelectorAll('#upstreams tbody tr')].map((r) => r.textContent) }));
  check(!ups.hidden && ups.rows.length === 3 && ups.rows[1].includes('strategy') && ups.rows[1].includes('down') &&
        ups.rows[1].includes('connection refused') && ups.rows[2].includes('executor') && ups.rows[2].includes('up'),
        `upstream processes of a standalone dashboard shown (${ups.rows.join(' | ')})`);
  const links = await page.evaluate(() => ({ hidden: document.querySelector('#links').hidden,
    rows: [...document.querySelectorAll('#links tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)) }));
  check(!links.hidden && links.rows.length === 2 && links.rows[0][1] === 'in' && links.rows[0][3] === '1' && links.rows[0][4] === '3' &&
        links.rows[1][1] === 'out' && links.rows[1][5] === '3 / 2',
        `udp:// link bridges shown: gaps, late, resent / unavailable (${links.rows.map((r) => r.join(' ')).join(' | ')})`);
  const health = await page.evaluate(() => document.querySelector('#health-list').textContent);
  check(health.includes('block lag') && health.includes('breaker'), 'health panel shows block lag and breaker');
  check(errors.length === 0, `no page errors ${errors.join('; ')}`);
  check(external.length === 0, `no external requests ${external.join(', ')}`);

  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
} catch (e) {
  failed = true;
  console.error('FAIL:', e);
} finally {
  if (browser) await browser.close();
  proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
