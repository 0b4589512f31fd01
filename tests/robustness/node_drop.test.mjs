// Robustness (labels integration;chain, < 120 s): the node connection dropped under torqd.
//
// SIGKILL of anvil would destroy the chain, so the fault is made by a loopback TCP proxy between
// torqd and anvil (torqd's manifest copy names the proxy for both ws:// and http://): cut() resets
// every open connection and refuses new ones for a few seconds, then restore(). During each outage
// a dislocating swap is made straight against anvil; after the restore no new block is produced
// until torqd acts, so only the gap backfill (eth_getLogs from the last applied block) can tell
// torqd about that swap. Asserts, for two outages (4 s and 2 s):
//  - torqd reconnects (torq_endpoint_reconnects_total rises) and is still ready;
//  - it trades on the dislocation made during the outage: a new transaction mined with status 1,
//    and the trade's realized profit equals its expected profit to within 0.5 % (a book that
//    missed or double-applied events would misprice it or revert);
//  - pool freshness equals the chain: for every pool with logs after torqd started, the API's
//    last_update_block (/api/pools) equals the block of the pool's last log (eth_getLogs);
//  - no error count explodes: no ring drops or sequence gaps (/metrics), no decode errors and at
//    most one revert (summary), exit 0 on SIGTERM and a clean audit log (torq-audit exit 0).
// Usage: node node_drop.test.mjs --torqd PATH --torq-audit PATH [--out DIR]; exit 77 = skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  skipWithoutChain, parseArgs, Chain, Torqd, writeConfig, readAudit, recordsOf, check, failed, log, sleep, rpc, hexToNum,
  CutProxy, apiGet, parseMetrics, metricSum, writeJson, tmpDir,
} from './lib.mjs';

skipWithoutChain();
const opt = parseArgs();
const dir = tmpDir('nodedrop');
let chain = null;
let proxy = null;
const report = { test: 'node_drop', outages: [] };

async function main() {
  chain = await Chain.start(dir, { blockTime: 0 });
  chain.deploy();
  proxy = await CutProxy.start(chain.manifest.anvil.port);
  const proxied = JSON.parse(fs.readFileSync(chain.manifestPath, 'utf8'));
  proxied.rpc = { http: `http://127.0.0.1:${proxy.port}`, ws: `ws://127.0.0.1:${proxy.port}` };
  const proxiedPath = path.join(dir, 'manifest-proxied.json');
  fs.writeFileSync(proxiedPath, JSON.stringify(proxied, null, 2));
  log(`anvil ${chain.http}, proxy 127.0.0.1:${proxy.port}, contract ${chain.contract}`);

  const { config, token } = writeConfig(dir, proxiedPath, { maxInFlight: 1 });
  const auditFile = path.join(dir, 'audit.log');
  const t = await new Torqd(opt.torqd, dir, 'torqd', ['--config', config, '--manifest', proxiedPath, '--key-file', chain.keyFile,
    '--contract', chain.contract, '--audit', auditFile]).ready();
  const readyBlock = await chain.blockNumber();
  check(t.port > 0, `torqd ready (pid ${t.pid}), operator API on port ${t.port}, block ${readyBlock}`);
  const metrics = async () => parseMetrics(await apiGet(t.port, token, '/metrics'));
  const waitFor = async (pred, ms) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = await metrics();
      if (pred(m) || Date.now() > end) return m;
      await sleep(200);
    }
  };

  // Baseline: a trade through the proxy.
  await chain.swap('quickswap', 'WETH/USDC', 'WETH', 15);
  let m = await waitFor((x) => x.torq_tx_mined_total >= 1, 15000);
  check(m.torq_tx_mined_total >= 1, `baseline trade through the proxy mined (torq_tx_mined_total ${m.torq_tx_mined_total})`);
  await sleep(500);

  const outages = [
    { ms: 4000, swap: ['sushiswap', 'WETH/USDC', 'USDC', 24000] },
    { ms: 2000, swap: ['quickswap', 'WMATIC/USDC', 'WMATIC', 60000] },
  ];
  for (const [i, o] of outages.entries()) {
    const before = await metrics();
    const recBefore = recordsOf(readAudit(opt.audit, auditFile).doc, 'receipt').length;
    proxy.cut();
    const cutAt = Date.now();
    await sleep(300);
    const sw = await chain.swap(...o.swap);  // straight to anvil: torqd cannot see it live
    await sleep(Math.max(0, o.ms - (Date.now() - cutAt)));
    proxy.restore();
    log(`outage ${i + 1}: cut ${Date.now() - cutAt} ms, swap ${o.swap.join(' ')} in block ${Number(sw.block)} during it (refused connects: ${proxy.refused})`);
    m = await waitFor((x) => metricSum(x, 'torq_endpoint_reconnects_total') > metricSum(before, 'torq_endpoint_reconnects_total') &&
      x.torq_tx_mined_total > before.torq_tx_mined_total, 25000);
    const recoveredMs = Date.now() - cutAt - o.ms;
    check(metricSum(m, 'torq_endpoint_reconnects_total') > metricSum(before, 'torq_endpoint_reconnects_total'),
      `outage ${i + 1}: torqd reconnected (reconnects ${metricSum(before, 'torq_endpoint_reconnects_total')} -> ${metricSum(m, 'torq_endpoint_reconnects_total')})`);
    check(m.torq_ready === 1, `outage ${i + 1}: torqd still ready`);
    check(m.torq_tx_mined_total > before.torq_tx_mined_total,
      `outage ${i + 1}: traded on the dislocation made during the outage (mined ${before.torq_tx_mined_total} -> ${m.torq_tx_mined_total}, ${recoveredMs} ms after the restore)`);
    await sleep(800);
    const au = readAudit(opt.audit, auditFile);
    const newRec = recordsOf(au.doc, 'receipt').slice(recBefore);
    const ok = newRec.find((r) => r.status === 'included');
    const pnl = ok && recordsOf(au.doc, 'pnl').find((p) => p.order_id === ok.order_id);
    const dev = pnl ? Math.abs(Number(pnl.profit_usd) - Number(pnl.expected_usd)) / Math.max(1e-9, Math.abs(Number(pnl.expected_usd))) : null;
    check(pnl && dev <= 0.005, `outage ${i + 1}: realized profit ${pnl?.profit_usd} USD vs expected ${pnl?.expected_usd} USD (deviation ${dev === null ? '?' : (dev * 100).toFixed(4)} %)`);
    report.outages.push({ cut_ms: o.ms, recovered_after_restore_ms: recoveredMs, profit_usd: pnl?.profit_usd, expected_usd: pnl?.expected_usd, receipts: newRec.map((r) => r.status) });
  }

  // Freshness equals the chain, once quiet.
  await sleep(1000);
  const head = await chain.blockNumber();
  const pools = await apiGet(t.port, token, '/api/pools');
  const rows = Array.isArray(pools) ? pools : pools.pools;
  let compared = 0;
  const mismatches = [];
  for (const p of chain.manifest.pools) {
    const logs = await rpc(chain.http, 'eth_getLogs', [{ address: p.address, fromBlock: '0x' + (readyBlock + 1).toString(16), toBlock: '0x' + head.toString(16) }]);
    if (logs.length === 0) continue;
    const last = Math.max(...logs.map((l) => hexToNum(l.blockNumber)));
    const row = rows.find((r) => r.address.toLowerCase() === p.address.toLowerCase());
    compared++;
    if (!row || row.last_update_block !== last) mismatches.push(`${p.venue} ${p.symbol0}/${p.symbol1}: api ${row?.last_update_block} chain ${last}`);
  }
  check(compared >= 3 && mismatches.length === 0, `pool freshness equals the chain at block ${head} (${compared} pools with logs compared${mismatches.length ? '; ' + mismatches.join('; ') : ''})`);

  m = await metrics();
  check(metricSum(m, 'torq_ring_drops_total') === 0, `no ring drops (torq_ring_drops_total ${metricSum(m, 'torq_ring_drops_total')})`);
  check(metricSum(m, 'torq_sequence_gaps_total') === 0, `no sequence gaps (torq_sequence_gaps_total ${metricSum(m, 'torq_sequence_gaps_total')})`);
  const stop = await t.stop();
  const s = stop.summary ?? {};
  check(stop.code === 0, `torqd exits 0 on SIGTERM (code ${stop.code})`);
  check(s.decode_errors === 0 && s.md_dropped === 0, `summary: decode_errors ${s.decode_errors}, md_dropped ${s.md_dropped}`);
  check(s.reverted <= 1, `summary: ${s.included} included, ${s.reverted} reverted, ${s.send_failed} send failures, ${s.receipt_timeouts} receipt timeouts, reconnects ${s.reconnects}`);
  const errLines = t.stderr().split('\n').filter((l) => /fail|error|refused/i.test(l)).length;
  check(errLines < 100, `error lines on stderr stay bounded (${errLines})`);
  const au = readAudit(opt.audit, auditFile);
  check(au.rc === 0, `audit log verifies clean (exit ${au.rc}, ${au.doc?.records_ok} records)`);
  report.summary = { included: s.included, reverted: s.reverted, send_failed: s.send_failed, reconnects: s.reconnects, realized_pnl_usd: s.realized_pnl_usd, stderr_error_lines: errLines };
}

main()
  .catch((e) => check(false, `unexpected error: ${e.stack}`))
  .finally(async () => {
    if (proxy) proxy.close();
    if (chain) await chain.stop();
    report.failures = failed();
    writeJson(path.join(opt.out, 'robustness-node-drop.json'), report);
    if (!failed() && !process.env.TORQ_ROBUSTNESS_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`work files kept in ${dir}`);
    process.exit(failed() ? 1 : 0);
  });
