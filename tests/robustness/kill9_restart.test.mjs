// Robustness (labels integration;chain, < 120 s): torqd killed with SIGKILL mid-trade and restarted.
//
// Local chain with 1 s interval mining (so a sent transaction really sits in the node's pool for
// up to a block), TorqArbitrage deployed, torqd running; dislocating swaps until the audit log
// (polled with torq-audit --json) shows a Transaction record, then SIGKILL at once. Asserts:
//  - the audit log verifies up to its last complete record after the kill and after the restart
//    (torq-audit exit 0 or 2 = torn tail, never 3 = corrupt); the restarted writer continues the
//    sequence (a Start record, no SequenceGap);
//  - the node: every mined transaction of the executor account has a distinct nonce, the nonces
//    are contiguous from 0 (no gap), and pending == latest once blocks have passed (nothing stuck);
//  - nothing acknowledged is lost: every Transaction in the audit log (both runs) is mined with
//    the audited nonce; the restarted torqd reuses no nonce of the first run;
//  - trades resume: new trades after the restart are mined with status 1 and booked (Receipt
//    "included", Pnl net > 0, summary realized_pnl_usd > 0);
//  - recovery (asserted): every transaction the node accepted before the kill has an audit
//    Transaction record (written before the send); every transaction in flight at the kill gets a
//    Receipt (+ Pnl) record from the restarted torqd; its cumulative P&L continues from the first
//    run's (docs/risk-and-audit.md §5 step 3); a nonce Recovery record is logged.
// Usage: node kill9_restart.test.mjs --torqd PATH --torq-audit PATH [--out DIR]; exit 77 = skipped.
import * as path from 'node:path';
import * as fs from 'node:fs';
import {
  skipWithoutChain, parseArgs, Chain, Torqd, writeConfig, readAudit, recordsOf, accountTxs, check, failed, log, sleep,
  DISLOCATIONS, writeJson, tmpDir,
} from './lib.mjs';

skipWithoutChain();
const opt = parseArgs();
const dir = tmpDir('kill9');
const strict = process.env.TORQ_ROBUSTNESS_STRICT === '1';
let chain = null;
const report = { test: 'kill9_restart' };

async function main() {
  chain = await Chain.start(dir, { blockTime: 1 });
  chain.deploy();
  log(`chain ${chain.http}, contract ${chain.contract}, executor ${chain.executor}`);
  // Four in flight (so that several transactions sit in the node's pool at the kill); competing
  // in-flight trades on the same pools revert, so the breaker is set out of the way.
  const { config } = writeConfig(dir, chain.manifestPath, { maxInFlight: 4, breakerReverts: 50 });
  const auditFile = path.join(dir, 'audit.log');
  const args = ['--config', config, '--manifest', chain.manifestPath, '--key-file', chain.keyFile, '--contract', chain.contract, '--audit', auditFile];

  // ---- run 1: trade, SIGKILL right after a Transaction record appears.
  const a = await new Torqd(opt.torqd, dir, 'torqd-1', args).ready();
  log(`torqd-1 ready (pid ${a.pid})`);
  let d = 0;
  // First a booked trade (so that there is P&L to carry over), then the kill on the next send.
  const booked = () => recordsOf(readAudit(opt.audit, auditFile).doc, 'pnl').filter((p) => Number(p.net_usd) > 0).length;
  const deadline1 = Date.now() + 30000;
  while (Date.now() < deadline1 && booked() === 0) {
    await chain.swap(...DISLOCATIONS[d++ % DISLOCATIONS.length]);
    const t = Date.now() + 3000;
    while (Date.now() < t && booked() === 0) await sleep(100);
  }
  await sleep(1500);  // let the block's competing transactions settle
  const txsBefore = recordsOf(readAudit(opt.audit, auditFile).doc, 'transaction').length;
  check(booked() > 0, `run 1 booked a profitable trade before the kill (${txsBefore} transactions so far)`);
  let killedAfter = null;
  const deadline = Date.now() + 30000;
  let swap = null;
  while (Date.now() < deadline && killedAfter === null) {
    if (!swap) swap = chain.swap(...DISLOCATIONS[d++ % DISLOCATIONS.length]).finally(() => (swap = null));
    const au = readAudit(opt.audit, auditFile);
    const txs = recordsOf(au.doc, 'transaction');
    if (txs.length > txsBefore) {
      a.kill('SIGKILL');
      killedAfter = txs;
      break;
    }
    await sleep(30);
  }
  await a.exit;
  if (!check(killedAfter !== null, 'run 1 sent a transaction (audit Transaction record) before the kill')) return;
  log(`SIGKILLed torqd-1 after ${killedAfter.length} audited transaction(s): nonces ${killedAfter.map((t) => t.nonce).join(',')}`);
  const [pendingAtKill, latestAtKill] = [await chain.nonce('pending'), await chain.nonce('latest')];
  log(`node right after the kill: pending nonce ${pendingAtKill}, latest ${latestAtKill} (in the pool: ${pendingAtKill - latestAtKill})`);
  report.in_pool_at_kill = pendingAtKill - latestAtKill;
  if (swap) await swap.catch(() => {});

  const au1 = readAudit(opt.audit, auditFile);
  check(au1.rc === 0 || au1.rc === 2, `audit log after SIGKILL verifies (torq-audit exit ${au1.rc}, status ${au1.doc?.status}, ${au1.doc?.records_ok} records)`);
  const run1Txs = recordsOf(au1.doc, 'transaction');
  const run1Pnl = recordsOf(au1.doc, 'pnl');
  const run1Cum = run1Pnl.length ? Number(run1Pnl[run1Pnl.length - 1].cumulative_usd) : 0;
  report.run1 = { audit_rc: au1.rc, records: au1.doc?.records_ok, transactions: run1Txs.length, pnl_records: run1Pnl.length, cumulative_usd: run1Cum };

  // ---- run 2: same audit log, same key.
  const b = await new Torqd(opt.torqd, dir, 'torqd-2', args).ready();
  log(`torqd-2 ready (pid ${b.pid})`);
  const auR = readAudit(opt.audit, auditFile);
  check(auR.rc === 0 || auR.rc === 2, `audit log after the restart verifies (exit ${auR.rc}, status ${auR.doc?.status})`);
  const starts = recordsOf(auR.doc, 'start');
  check(starts.length >= 2, `the restarted writer logged a Start record (${starts.length} Start records; last: truncated_bytes ${starts.at(-1)?.truncated_bytes}, prior_records ${starts.at(-1)?.prior_records})`);

  const run1Hashes = new Set(run1Txs.map((t) => t.tx_hash.toLowerCase()));
  const newOk = () => {
    const au = readAudit(opt.audit, auditFile);
    const rec = recordsOf(au.doc, 'receipt').filter((r) => !run1Hashes.has(r.tx_hash.toLowerCase()) && r.status === 'included');
    return rec.length;
  };
  const deadline2 = Date.now() + 40000;
  while (Date.now() < deadline2 && newOk() < 2) {
    await chain.swap(...DISLOCATIONS[d++ % DISLOCATIONS.length]);
    const t = Date.now() + 2500;
    while (Date.now() < t && newOk() < 2) await sleep(100);
  }
  const stop = await b.stop();
  check(stop.code === 0, `torqd-2 exits 0 on SIGTERM (code ${stop.code}, signal ${stop.sig})`);

  // ---- the audit log after a clean stop.
  const au2 = readAudit(opt.audit, auditFile);
  check(au2.rc === 0, `audit log verifies clean after the restarted run (exit ${au2.rc}, status ${au2.doc?.status}, corrupt_kind ${au2.doc?.corrupt_kind})`);
  const seqs = (au2.doc?.records ?? []).map((r) => r.seq);
  check(seqs.every((s, i) => s === i + 1), `audit sequence numbers are contiguous across the crash (1..${seqs.length})`);
  const allTxs = recordsOf(au2.doc, 'transaction');
  const run2Txs = allTxs.filter((t) => !run1Hashes.has(t.tx_hash.toLowerCase()));
  const receipts = recordsOf(au2.doc, 'receipt');
  const run2Receipts = receipts.filter((r) => !run1Hashes.has(r.tx_hash.toLowerCase()));
  const run2Pnl = recordsOf(au2.doc, 'pnl').slice(run1Pnl.length);
  const nonceRecs = recordsOf(au2.doc, 'nonce');

  // ---- the node: wait until nothing is pending, then every executor transaction.
  let pending = await chain.nonce('pending');
  let latest = await chain.nonce('latest');
  for (let i = 0; i < 50 && pending !== latest; i++) {
    await sleep(200);
    [pending, latest] = [await chain.nonce('pending'), await chain.nonce('latest')];
  }
  check(pending === latest, `pending count settles: pending ${pending} == latest ${latest} (no stuck transaction)`);
  const mined = await accountTxs(chain.http, chain.executor, chain.deployBlock);
  const nonces = mined.map((t) => t.nonce).sort((x, y) => x - y);
  check(new Set(nonces).size === nonces.length, `every mined executor transaction has a distinct nonce (${nonces.length} transactions)`);
  check(nonces.every((n, i) => n === i) && nonces.length === latest, `executor nonces are contiguous 0..${latest - 1} (no gap left behind)`);
  const byHash = new Map(mined.map((t) => [t.hash, t]));
  // A Transaction record is written before the send (write-ahead); a send the node refused is
  // settled by a 'failed' Receipt record and is not expected on chain.
  const refused = new Set(receipts.filter((r) => r.status === 'failed').map((r) => r.tx_hash.toLowerCase()));
  const lost = allTxs.filter((t) => !refused.has(t.tx_hash.toLowerCase())).filter((t) => !byHash.has(t.tx_hash.toLowerCase()) || byHash.get(t.tx_hash.toLowerCase()).nonce !== t.nonce);
  check(lost.length === 0, `every audited transaction (${allTxs.length}, both runs) is mined with its audited nonce${lost.length ? ': missing ' + lost.map((t) => t.tx_hash).join(',') : ''}`);
  const run1Nonces = new Set(run1Txs.map((t) => t.nonce));
  const reused = run2Txs.filter((t) => run1Nonces.has(t.nonce));
  check(reused.length === 0, `the restarted torqd reused no nonce of the first run (run 1: ${[...run1Nonces].join(',')}; run 2: ${run2Txs.map((t) => t.nonce).join(',')})`);
  const killedMined = killedAfter.slice(txsBefore).map((t) => byHash.get(t.tx_hash.toLowerCase()));
  check(killedMined.every((t) => t), `the audited transaction(s) in flight at the kill were mined anyway (${killedMined.map((t) => t && `nonce ${t.nonce} block ${t.block} status ${t.status}`).join('; ')})`);
  // Sent before the kill (the node took them: nonce below its pending count then) but without an
  // audit Transaction record: records still in the audit ring when the process died.
  const auditedNonces = new Set(allTxs.map((t) => t.nonce));
  const unaudited = mined.filter((t) => t.nonce > 0 && t.nonce < pendingAtKill && !auditedNonces.has(t.nonce));
  report.unaudited_sent_before_kill = unaudited.map((t) => t.nonce);

  // ---- trades resume.
  const okRun2 = run2Txs.filter((t) => byHash.get(t.tx_hash.toLowerCase())?.status === 1);
  check(okRun2.length >= 1, `trades after the restart are mined with status 1 (${okRun2.length} of ${run2Txs.length})`);
  check(run2Receipts.filter((r) => r.status === 'included').length >= 1, `the restarted torqd booked receipts (${run2Receipts.map((r) => r.status).join(',')})`);
  check(run2Pnl.length >= 1 && run2Pnl.some((p) => Number(p.net_usd) > 0), `realized P&L continues: ${run2Pnl.length} Pnl records after the restart, net ${run2Pnl.map((p) => p.net_usd).join(',')}`);
  check(stop.summary && Number(stop.summary.realized_pnl_usd) > 0, `torqd-2 summary realized_pnl_usd ${stop.summary?.realized_pnl_usd} > 0`);

  // ---- recovery depth (hard assertions; TORQ_ROBUSTNESS_STRICT no longer changes anything).
  const settledStatus = new Set(['included', 'reverted', 'failed']);
  const orphaned = run1Txs.filter((t) => !receipts.some((r) => settledStatus.has(r.status) && r.tx_hash.toLowerCase() === t.tx_hash.toLowerCase()));
  const firstCum = run2Pnl.length ? Number(run2Pnl[0].cumulative_usd) - Number(run2Pnl[0].net_usd) : null;
  const carried = firstCum !== null && Math.abs(firstCum - run1Cum) < 1e-6;
  const recovery = nonceRecs.some((n) => n.event === 'recovery');
  report.run2 = { transactions: run2Txs.length, mined_ok: okRun2.length, pnl_records: run2Pnl.length, realized_pnl_usd: stop.summary?.realized_pnl_usd, nonce_records: nonceRecs.map((n) => n.event) };
  report.recovery = { orphaned_transactions: orphaned.length, pnl_carried_over: carried, run2_starting_cumulative_usd: firstCum, run1_cumulative_usd: run1Cum, nonce_recovery_record: recovery };
  // Hard assertions since torqd recovers from its audit log (docs/torqd.md "Crash recovery").
  const note = check;
  note(unaudited.length === 0, `every transaction the node accepted before the kill has an audit Transaction record (without: nonces ${unaudited.map((t) => t.nonce).join(',') || 'none'})`);
  note(orphaned.length === 0, `every transaction in flight at the kill got a Receipt record after the restart (${orphaned.length} without)`);
  note(carried, `the restarted torqd's cumulative P&L starts from the first run's ${run1Cum} USD (starts from ${firstCum})`);
  note(recovery, 'the restarted torqd logged a nonce Recovery record');
}

main()
  .catch((e) => check(false, `unexpected error: ${e.stack}`))
  .finally(async () => {
    if (chain) await chain.stop();
    report.failures = failed();
    writeJson(path.join(opt.out, 'robustness-kill9.json'), report);
    if (!failed() && !process.env.TORQ_ROBUSTNESS_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`work files kept in ${dir}`);
    process.exit(failed() ? 1 : 0);
  });
