// Robustness soak (labels soak;integration;chain): the full pipeline for TORQ_SOAK_SECONDS (default
// 60, the CI variant; 600 for the long variant, target robustness_soak_long) with the market driver
// (chain/driver.mjs) at a high rate against torqd in monolith mode with the operator API.
//
// Samples torqd's VmRSS (/proc/PID/status) every second, /metrics every 5 s and verifies the audit
// log with torq-audit every 10 s. Asserts:
//  - memory stays flat after warm-up: the average RSS of the last third of the run is within +10 %
//    of the middle third's (the first third is warm-up);
//  - no drops or gaps: torq_ring_drops_total and torq_sequence_gaps_total stay 0, the summary's
//    md_dropped and signals_dropped are 0, no audit Dropped record;
//  - the audit log never reads as corrupt (torq-audit exit 0 or 2 while running, 0 after the stop);
//  - the pipeline kept up: market events keep arriving in the last third, block lag at the end
//    <= 3, trades mined, torqd exits 0 on SIGTERM.
// The market driver is restarted once (another seed, the time left) if it dies mid-run; its last
// log lines are printed and kept in the report's driver_restarts. It must finish cleanly.
// Records the RSS series summary, counters and latency percentiles (/api/latency, the summary's
// tick_to_signed_tx_ns) in <out>/robustness-soak-<N>s.json.
// Usage: node soak.test.mjs --torqd PATH --torq-audit PATH [--out DIR]; exit 77 = skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import {
  ROOT, skipWithoutChain, parseArgs, Chain, Torqd, writeConfig, readAudit, recordsOf, check, failed, log, sleep,
  apiGet, parseMetrics, metricSum, writeJson, tmpDir,
} from './lib.mjs';

skipWithoutChain();
const opt = parseArgs();
const seconds = Number(process.env.TORQ_SOAK_SECONDS || 60);
const rate = Number(process.env.TORQ_SOAK_RATE || 25);
if (!(seconds >= 15)) throw new Error(`TORQ_SOAK_SECONDS=${process.env.TORQ_SOAK_SECONDS}: at least 15`);
const dir = tmpDir('soak');
let chain = null;
let driver = null;
const report = { test: 'soak', seconds, driver_rate: rate };
const avg = (a) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);

async function main() {
  chain = await Chain.start(dir, { blockTime: 0 });
  chain.deploy();
  const { config, token } = writeConfig(dir, chain.manifestPath, { maxInFlight: 4 });
  const auditFile = path.join(dir, 'audit.log');
  const t = await new Torqd(opt.torqd, dir, 'torqd', ['--config', config, '--manifest', chain.manifestPath, '--key-file', chain.keyFile,
    '--contract', chain.contract, '--audit', auditFile]).ready();
  log(`torqd ready (pid ${t.pid}, API port ${t.port}); driver at ${rate} actions/s for ${seconds} s`);
  // The market driver is the load, not the system under test: if it dies mid-run (its last log
  // lines, with the error and stack, go to the output), it is restarted once with another seed for
  // the time left, so that torqd still gets the whole soak; a second death fails the test.
  const driverLogs = [];
  let driverExit = null;
  let driverCode = null;
  const startDriver = (seed, durationS) => {
    const file = path.join(dir, `driver-${driverLogs.length}.log`);
    driverLogs.push(file);
    const out = fs.openSync(file, 'w');
    driverCode = null;
    driver = spawn('node', [path.join(ROOT, 'chain', 'driver.mjs'), '--manifest', chain.manifestPath, '--rate', String(rate),
      '--duration-s', String(durationS), '--seed', String(seed)], { stdio: ['ignore', out, out] });
    driverExit = new Promise((r) => driver.on('exit', (code, sig) => r((driverCode = code ?? sig))));
  };
  const driverTail = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((x) => x.trim()).slice(-12);
  startDriver(7, seconds);
  report.driver_restarts = [];

  const rss = [];
  const metricSamples = [];
  const auditCodes = [];
  const start = Date.now();
  for (let i = 1; i <= seconds; i++) {
    await sleep(Math.max(0, start + i * 1000 - Date.now()));
    if (t.exited) break;
    if (driverCode !== null && driverCode !== 0 && report.driver_restarts.length === 0 && seconds - i >= 5) {
      log(`driver died at t=${i}s (exit ${driverCode}); its last lines:`);
      const tail = driverTail(driverLogs.at(-1));
      for (const l of tail) log(`  driver.log: ${l.slice(0, 400)}`);
      report.driver_restarts.push({ t: i, exit: driverCode, tail });
      startDriver(8, seconds - i);
    }
    rss.push(t.rssKiB());
    if (i % 5 === 0) {
      const m = parseMetrics(await apiGet(t.port, token, '/metrics'));
      metricSamples.push({ t: i, events: metricSum(m, 'torq_events_total'), drops: metricSum(m, 'torq_ring_drops_total'),
        gaps: metricSum(m, 'torq_sequence_gaps_total'), mined: m.torq_tx_mined_total, lag: m.torq_block_lag });
    }
    if (i % 10 === 0) {
      const au = readAudit(opt.audit, auditFile);
      auditCodes.push(au.rc);
      log(`t=${i}s rss ${rss.at(-1)} KiB, audit ${au.doc?.records_ok} records (exit ${au.rc}), metrics ${JSON.stringify(metricSamples.at(-1))}`);
    }
  }
  check(!t.exited, `torqd ran the whole soak (${rss.length} s)`);
  const lastCode = await Promise.race([driverExit, sleep(15000).then(() => 'timeout')]);
  const driverLog = fs.readFileSync(driverLogs.at(-1), 'utf8').split('\n');
  const driverSummary = driverLog.filter((l) => l.includes('"summary"')).pop();
  check(lastCode === 0, `driver finished (exit ${lastCode}, restarted ${report.driver_restarts.length} time(s) after dying): ${driverSummary ?? 'no summary'}`);
  // What stopped a failed driver: its last lines (the error, its stack) go to the test's output.
  if (lastCode !== 0) for (const l of driverTail(driverLogs.at(-1))) log(`  driver.log: ${l.slice(0, 400)}`);

  // Memory.
  const n = rss.length;
  const mid = rss.slice(Math.floor(n / 3), Math.floor((2 * n) / 3));
  const last = rss.slice(Math.floor((2 * n) / 3));
  const growth = avg(last) / avg(mid) - 1;
  report.rss_kib = { first: rss[0], max: Math.max(...rss), middle_third_avg: Math.round(avg(mid)), last_third_avg: Math.round(avg(last)),
    growth_pct: +(growth * 100).toFixed(2), series: rss };
  check(growth <= 0.10, `RSS flat after warm-up: last third ${Math.round(avg(last))} KiB vs middle third ${Math.round(avg(mid))} KiB (${(growth * 100).toFixed(2)} %, limit +10 %)`);

  // Metrics: no drops or gaps, events kept flowing, lag small.
  const m = parseMetrics(await apiGet(t.port, token, '/metrics'));
  const latency = await apiGet(t.port, token, '/api/latency');
  const pnl = await apiGet(t.port, token, '/api/pnl');
  check(metricSamples.every((s) => s.drops === 0) && metricSum(m, 'torq_ring_drops_total') === 0, `no ring drops during the soak (torq_ring_drops_total ${metricSum(m, 'torq_ring_drops_total')})`);
  check(metricSamples.every((s) => s.gaps === 0) && metricSum(m, 'torq_sequence_gaps_total') === 0, `no sequence gaps (torq_sequence_gaps_total ${metricSum(m, 'torq_sequence_gaps_total')})`);
  const lastThird = metricSamples.filter((s) => s.t > (2 * seconds) / 3);
  check(lastThird.length >= 1 && lastThird.at(-1).events > metricSamples.find((s) => s.t > seconds / 3 && s.t <= (2 * seconds) / 3)?.events,
    `market events keep arriving in the last third (${metricSamples.map((s) => s.events).join(' -> ')})`);
  check(m.torq_block_lag <= 3, `block lag at the end ${m.torq_block_lag} <= 3`);
  // Ring fill comes from the rings' own control blocks: every ring of the monolith is listed with
  // its real capacity, and what is queued fits in it.
  const rings = ['market_data', 'signals', 'tx', 'reports'];
  const cap = (r) => m[`torq_ring_capacity_bytes{ring="${r}"}`];
  const used = (r) => m[`torq_ring_used_bytes{ring="${r}"}`];
  check(cap('market_data') === 4194304 && rings.every((r) => cap(r) > 0 && used(r) >= 0 && used(r) <= cap(r)),
    `ring fill exported: ${rings.map((r) => `${r} ${used(r)}/${cap(r)}`).join(', ')}`);
  check(auditCodes.every((c) => c === 0 || c === 2), `audit log never corrupt while running (torq-audit exits ${auditCodes.join(',')})`);

  const stop = await t.stop();
  const s = stop.summary ?? {};
  check(stop.code === 0, `torqd exits 0 on SIGTERM (code ${stop.code})`);
  check(s.md_dropped === 0 && s.signals_dropped === 0 && s.decode_errors === 0, `summary: md_dropped ${s.md_dropped}, signals_dropped ${s.signals_dropped}, decode_errors ${s.decode_errors}`);
  check(s.included >= 1, `trades mined during the soak: ${s.included} included, ${s.reverted} reverted, ${s.sent} sent, realized P&L ${s.realized_pnl_usd} USD`);
  const au = readAudit(opt.audit, auditFile);
  check(au.rc === 0, `audit log verifies clean after the stop (exit ${au.rc}, ${au.doc?.records_ok} records, ${fs.statSync(auditFile).size} bytes)`);
  check(recordsOf(au.doc, 'dropped').length === 0, `no audit Dropped record (${recordsOf(au.doc, 'dropped').length})`);

  report.metrics = metricSamples;
  report.summary = { heads: s.heads, logs: s.logs, md_frames: s.md_frames, signals: s.signals, risk_accepted: s.risk_accepted, sent: s.sent,
    included: s.included, reverted: s.reverted, realized_pnl_usd: s.realized_pnl_usd, tick_to_signed_tx_ns: s.tick_to_signed_tx_ns,
    tick_to_executor_ns: s.tick_to_executor_ns, audit_records: au.doc?.records_ok };
  const stages = (Array.isArray(latency) ? latency : latency.stages ?? []).map(({ buckets, ...rest }) => rest);
  report.latency_ns = stages;
  report.pnl = { cumulative: pnl.cumulative, drawdown: pnl.drawdown, won: pnl.trades_won ?? pnl.won, lost: pnl.trades_lost ?? pnl.lost };
  report.driver = driverSummary ? JSON.parse(driverSummary) : null;
  for (const v of stages) log(`latency ${v.stage}: count ${v.count} p50 ${v.p50_ns} p90 ${v.p90_ns} p99 ${v.p99_ns} p99.9 ${v.p999_ns} max ${v.max_ns} ns`);
  check(stages.some((v) => v.count > 0), `latency percentiles recorded for ${stages.filter((v) => v.count > 0).length} stages`);
}

main()
  .catch((e) => check(false, `unexpected error: ${e.stack}`))
  .finally(async () => {
    if (driver && driver.exitCode === null) driver.kill('SIGTERM');
    if (chain) await chain.stop();
    report.failures = failed();
    writeJson(path.join(opt.out, `robustness-soak-${seconds}s.json`), report);
    if (!failed() && !process.env.TORQ_ROBUSTNESS_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`work files kept in ${dir}`);
    process.exit(failed() ? 1 : 0);
  });
