// Dashboard test against the REAL torqd on the local chain, in real headless Chromium (Debian
// /usr/bin/chromium driven by playwright-core).
// Usage: node torqd_dashboard.test.mjs <torqd binary> [screenshot.png]
// Starts the chain fixture (anvil, chain id 137, V2/V3 venues), deploys TorqArbitrage from the
// executor account (tests/e2e/chain_tool.mjs), runs torqd in monolith mode with the operator API
// on an ephemeral port, opens the dashboard, and asserts: the page connects and receives live
// WebSocket updates without a reload; all 17 pools render with their last update block; after a
// dislocation (15 WETH sold on quickswap's WETH/USDC) opportunities appear and a trade row shows
// the mined transaction (the same hash the API reports, status "mined", realized P&L); the P&L
// chart gets points; latency histograms render. Screenshot saved; torqd must exit 0 on SIGTERM.
// Exit 0 pass, 1 fail, 77 skipped (no chromium, no node_modules here or in chain/).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..', '..');
const CHROMIUM = process.env.TORQ_CHROMIUM || '/usr/bin/chromium';
const torqd = process.argv[2];
const shot = process.argv[3] || join(process.cwd(), 'torqd-dashboard.png');

function skip(why) { console.log(`SKIP: ${why}`); process.exit(77); }
if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} not installed (apt-get install chromium)`);
if (!existsSync(join(here, 'node_modules', 'playwright-core'))) skip('tests/operator/web/node_modules missing (npm ci --prefix tests/operator/web)');
if (!existsSync(join(ROOT, 'chain', 'node_modules', 'ethers'))) skip('chain/node_modules missing (npm ci --prefix chain)');
if (!torqd || !existsSync(torqd)) { console.error('usage: torqd_dashboard.test.mjs <torqd> [screenshot]'); process.exit(1); }

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const dir = mkdtempSync(join(tmpdir(), 'torqd-dash-'));
const manifest = join(dir, 'manifest.json');
const token = 'dash-' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
let failed = false;
const check = (cond, what) => { if (!cond) { failed = true; console.error(`FAIL: ${what}`); } else console.log(`ok: ${what}`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tool = (...args) => JSON.parse(execFileSync('node', [join(ROOT, 'tests', 'e2e', 'chain_tool.mjs'), ...args, '--manifest', manifest],
  { encoding: 'utf8' }).trim().split('\n').pop());

let fixture, daemon, browser;
let torqdErr = '';
let torqdOut = '';
try {
  // 1. Chain fixture + our contract.
  fixture = spawn('node', [join(ROOT, 'chain', 'fixture.mjs'), '--out', manifest], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 600 && !existsSync(manifest); i++) await sleep(100);
  if (!existsSync(manifest)) throw new Error('chain fixture did not write its manifest in 60 s');
  await sleep(300);
  const dep = tool('deploy', '--key-out', join(dir, 'executor.key'));
  console.log(`contract ${dep.contract} owned by ${dep.owner}`);

  // 2. torqd with the operator API (config file, 0600 token file).
  const tokenFile = join(dir, 'api.token');
  writeFileSync(tokenFile, token + '\n');
  chmodSync(tokenFile, 0o600);
  const cfg = join(dir, 'torq.toml');
  writeFileSync(cfg, [
    `include_manifest = "${manifest}"`, '[chain]', 'name = "local"', 'chain_id = 137',
    '[strategy]', 'min_profit_usd = "0.01"',
    '[risk]', 'max_notional_usd = "20000"', 'max_in_flight = 1', 'daily_loss_usd = "1000"', 'max_drawdown_usd = "2000"',
    'breaker_reverts = 3', 'max_gas_price_gwei = 1000',
    '[key]', `file = "${join(dir, 'executor.key')}"`, '[mode]', 'mode = "monolith"',
    '[api]', 'bind = "127.0.0.1"', 'port = 0', `token_file = "${tokenFile}"`,
    `web_root = "${join(ROOT, 'control', 'operator', 'web')}"`,
    '[metrics]', 'snapshot_interval_ms = 100', '',
  ].join('\n'));
  daemon = spawn(torqd, ['--config', cfg, '--contract', dep.contract, '--audit', join(dir, 'torqd.audit')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout.on('data', (d) => { torqdOut += d; });
  daemon.stderr.on('data', (d) => { torqdErr += d; });
  const exited = new Promise((r) => daemon.on('exit', (code, sig) => r(code ?? -1 * (sig ? 1 : 0))));
  let port = 0;
  for (let i = 0; i < 600 && !port; i++) {
    const m = /operator API on port (\d+)/.exec(torqdErr);
    if (m && torqdOut.includes('"event":"ready"')) port = Number(m[1]);
    else await sleep(50);
  }
  if (!port) throw new Error(`torqd did not start: ${torqdErr}`);
  console.log(`torqd ready, operator API on ${port}`);
  const api = async (path) => (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { Authorization: `Bearer ${token}` } })).json();

  // 3. The dashboard.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
  await page.goto(`http://127.0.0.1:${port}/#token=${encodeURIComponent(token)}`, { waitUntil: 'load' });
  check((await page.title()).includes('Torq'), 'page renders with its title');
  await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live', null, { timeout: 15000 });
  check(true, 'WebSocket connected to torqd');

  const versions = new Set();
  for (let i = 0; i < 30 && versions.size < 3; i++) {
    versions.add(await page.evaluate(() => document.body.dataset.version || ''));
    await sleep(150);
  }
  versions.delete('');
  check(versions.size >= 3, `live snapshots from torqd before the trade (${versions.size} versions seen)`);

  await page.waitForFunction(() => document.querySelectorAll('#pools tbody tr').length === 17, null, { timeout: 10000 });
  const poolText = await page.evaluate(() => document.querySelector('#pools tbody').textContent);
  check(poolText.includes('quickswap_v2') && poolText.includes('uniswap_v3') && poolText.includes('WETH'),
    'pool table: 17 pools with venue and tokens');
  const upsHidden = await page.evaluate(() => document.querySelector('#upstreams').hidden);
  check(upsHidden, 'no upstream table for a monolith');
  const linksHidden = await page.evaluate(() => document.querySelector('#links').hidden);
  check(linksHidden, 'no link table for a monolith (no udp:// links)');
  const tradesBefore = await page.evaluate(() => document.querySelectorAll('#trades tbody tr').length);
  check(tradesBefore === 0, `no trade row before the dislocation (${tradesBefore})`);

  // 4. Dislocation → arbitrage → trade row, pushed live (no reload).
  const sw = tool('swap', '--venue', 'quickswap', '--pair', 'WETH/USDC', '--sell', 'WETH', '--amount', '15');
  check(sw.status === 1, `dislocation swap mined in block ${sw.block}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#trades tbody tr')].some((r) => r.textContent.includes('mined')),
    null, { timeout: 30000 });
  const apiTrades = await api('/api/trades');
  const mined = apiTrades.find((t) => t.status === 'mined');
  check(mined && mined.realized_pnl_usd !== null, `API trade mined with realized P&L ${mined && mined.realized_pnl_usd}`);
  const row = await page.evaluate(() => [...document.querySelectorAll('#trades tbody tr')].find((r) => r.textContent.includes('mined')).textContent);
  check(mined && row.includes(mined.hash.slice(0, 8)) && row.includes('$'),
    `dashboard trade row shows the mined tx ${mined && mined.hash.slice(0, 10)}…: "${row.slice(0, 100)}"`);
  const rc = tool('receipt', '--tx', mined.hash);
  check(rc && rc.status === 1 && rc.to.toLowerCase() === dep.contract.toLowerCase(), 'that transaction is on chain, status 1, to our contract');
  const opps = await page.evaluate(() => document.querySelectorAll('#opportunities tbody tr').length);
  check(opps > 0, `opportunities rendered (${opps})`);
  const oppText = await page.evaluate(() => document.querySelector('#opportunities tbody').textContent);
  check(oppText.includes('USDC') && oppText.includes('taken'), 'an opportunity row with its path and decision "taken"');
  await page.waitForFunction(() => Number(document.querySelector('#pnl-chart').dataset.points || 0) >= 1, null, { timeout: 10000 });
  const points = await page.evaluate(() => Number(document.querySelector('#pnl-chart').dataset.points || 0));
  check(points >= 1, `P&L chart has points (${points})`);
  const stages = await page.evaluate(() => [...document.querySelectorAll('#latency .hist')].map((e) => e.dataset.stage));
  check(['risk', 'sign', 'tick_to_signal', 'submit_to_mined'].every((s) => stages.includes(s)), `latency histograms (${stages.join(', ')})`);
  check(navigations === 1, `no reload (${navigations} navigation)`);
  check(errors.length === 0, `no page errors ${errors.join('; ')}`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  // 5. Clean stop.
  daemon.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(40000).then(() => 'timeout')]);
  check(code === 0, `torqd exit code on SIGTERM (${code})`);
  daemon = null;
  const keyHex = readFileSync(join(dir, 'executor.key'), 'utf8').trim().toLowerCase();
  check(!(torqdOut + torqdErr).toLowerCase().includes(keyHex), 'the key never appears in torqd output');
} catch (e) {
  failed = true;
  console.error('FAIL:', e);
  console.error(torqdErr.slice(-3000));
} finally {
  if (browser) await browser.close();
  if (daemon) daemon.kill('SIGKILL');
  if (fixture) {
    fixture.kill('SIGTERM');
    await Promise.race([new Promise((r) => fixture.on('exit', r)), sleep(20000)]);
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
