#!/usr/bin/env node
// Market-activity driver for the local chain: random swaps on random pools (sized to move the
// price by tens of basis points), V2 liquidity adds/removes, V3 mints/burns over several tick
// ranges, at a configurable rate, so that prices dislocate between venues. Swap direction leans
// towards a slowly random-walking reference price, so dislocations stay bounded over long runs.
//
//   node chain/driver.mjs --manifest manifest.json [--rate 5] [--duration-s N] [--max-actions N]
//                         [--seed N] [--pipeline] [--batch N]
//
// --batch N (instant-mining chains only): many transactions per block, as on a busy chain.
// Automine is switched off (evm_setAutomine false), N actions are built from the state of the
// last block (the batch's own earlier actions tracked locally: V3 price, LP balances, position
// liquidity), all N sent, then evm_mine until the pool is empty (a block holds what fits in its
// gas limit, so N actions may take more than one block), receipts read once, and so on as fast
// as the node allows (--rate is ignored); automine is switched back on at the end.
//
// Prints one JSON line per action on stdout and a final {"event":"summary",...} line.
// Transactions: signed locally by anvil account 1 (the manifest's "driver"), explicit EIP-1559
// fees and gas limit, locally tracked nonce (re-read from the node after a refused send).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ethers } from 'ethers';
import {
  ERC20_ABI, MAX_SQRT_RATIO, MIN_SQRT_RATIO, Rng, TxSender, makeProvider, rawFromSqrtPriceX96, waitReceipt, walletFor,
} from './lib/common.mjs';
import { compileContracts } from './lib/compile.mjs';

const V2_PAIR_ABI = [
  'function getReserves() view returns (uint112, uint112, uint32)',
  'function balanceOf(address) view returns (uint256)',
];
const V3_POOL_ABI = [
  'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16, uint16, uint16, uint8, bool)',
  'function liquidity() view returns (uint128)',
  'function positions(bytes32) view returns (uint128 liquidity, uint256, uint256, uint128, uint128)',
];

export const ACTION_WEIGHTS = {
  v2_swap: 0.34, v3_swap: 0.30, v2_mint: 0.07, v2_burn: 0.07, v3_mint: 0.11, v3_burn: 0.11,
};

function weightedPick(rng, weights) {
  const entries = Object.entries(weights);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [k, w] of entries) {
    x -= w;
    if (x <= 0) return k;
  }
  return entries[entries.length - 1][0];
}

const big = (x) => BigInt(Math.max(0, Math.floor(x)));

/**
 * Runs the driver. Options: manifest (object), rate (actions/s), durationS (0 = until
 * signal.aborted), maxActions (0 = no limit), seed, emit (line => void), signal ({aborted}), pipeline (don't wait for each
 * receipt; default: on when the chain uses interval mining).
 * Returns the summary object.
 */
export async function runDriver(opts) {
  const { manifest, rate = 5, durationS = 0, maxActions = 0, seed = 1, emit = (l) => console.log(l), signal = { aborted: false } } = opts;
  const batch = opts.batch ?? 0;
  if (batch > 0 && manifest.anvil?.mining === 'interval') throw new Error('--batch needs an instant-mining chain');
  const pipeline = batch > 0 || (opts.pipeline ?? manifest.anvil?.mining === 'interval');
  // With transactions still in the pool, read the state they will produce (anvil's pending block).
  // Batch mode reads the last mined block and tracks its own batch locally (see `bs`).
  const at = { blockTag: pipeline && batch === 0 ? 'pending' : 'latest' };
  const rng = new Rng(seed);
  const provider = makeProvider(manifest.rpc.http);
  const me = manifest.accounts.find((a) => a.role === 'driver');
  const sender = new TxSender(walletFor(me.anvilIndex, provider), { gasLimit: 2_500_000n });
  if (sender.address.toLowerCase() !== me.address.toLowerCase()) throw new Error('driver key does not match manifest');
  await sender.syncNonce();
  const compiled = compileContracts();
  const actorIf = new ethers.Interface(compiled.TorqPoolActor.abi);
  const actor = manifest.contracts.poolActor;
  const tokens = Object.fromEntries(manifest.tokens.map((t) => [t.address.toLowerCase(), t]));
  const counts = { sent: 0, ok: 0, reverted: 0, error: 0, skipped: 0, byAction: {} };
  live.counts = counts;

  // Funding and approvals for the actor (idempotent).
  const setup = [];
  for (const t of manifest.tokens) {
    const c = new ethers.Contract(t.address, ERC20_ABI, provider);
    const want = big((1e8 / t.usdPrice) * 10 ** t.decimals);
    if ((await c.balanceOf(sender.address)) < want) {
      setup.push(await sender.send({ to: t.address, data: c.interface.encodeFunctionData('mint', [sender.address, want * 10n]), gasLimit: 200_000n }));
    }
    if ((await c.allowance(sender.address, actor)) < ethers.MaxUint256 / 2n) {
      setup.push(await sender.send({ to: t.address, data: c.interface.encodeFunctionData('approve', [actor, ethers.MaxUint256]), gasLimit: 200_000n }));
    }
  }
  for (const s of setup) {
    const rc = await waitReceipt(provider, s.hash, { timeoutMs: 120_000 });
    if (rc.status !== '0x1') throw new Error(`driver setup transaction ${s.hash} reverted`);
  }

  // Reference USD prices: random walk (USDC is the numeraire; USDT moves very little).
  const ref = Object.fromEntries(manifest.tokens.map((t) => [t.symbol, t.usdPrice]));
  const stepRef = () => {
    for (const t of manifest.tokens) {
      if (t.symbol === 'USDC') continue;
      const sigma = t.symbol === 'USDT' ? 0.00002 : 0.0004;
      ref[t.symbol] *= Math.exp(rng.uniform(-sigma, sigma));
    }
  };

  // V3 positions we know of (the fixture's and ours); burns re-read the on-chain liquidity.
  const v3Positions = new Map();
  for (const p of manifest.pools.filter((q) => q.kind === 'v3')) {
    v3Positions.set(p.address, (p.positions || []).map((x) => ({ tickLower: x.tickLower, tickUpper: x.tickUpper, seed: true })));
  }
  const v2Pools = manifest.pools.filter((p) => p.kind === 'v2');
  const v3Pools = manifest.pools.filter((p) => p.kind === 'v3');

  const humanPrice = (p, raw) => raw * 10 ** (tokens[p.token0.toLowerCase()].decimals - tokens[p.token1.toLowerCase()].decimals);
  const refPrice = (p) => ref[p.symbol0] / ref[p.symbol1];
  // Price moves per swap: tens of bps, a few bps between two dollar stablecoins.
  const isStable = (p) => tokens[p.token0.toLowerCase()].usdPrice === 1 && tokens[p.token1.toLowerCase()].usdPrice === 1;
  const moveFor = (p) => (isStable(p) ? rng.uniform(2, 15) : rng.uniform(5, 60));

  // Chooses the swap direction: lean towards the reference price. Returns zeroForOne.
  const direction = (p, price) => {
    const devBps = (price / refPrice(p) - 1) * 1e4;
    const toward = devBps > 0; // token0 too expensive: sell token0 (zeroForOne)
    const pToward = 0.5 + Math.min(Math.abs(devBps) / 200, 0.45);
    return { zeroForOne: rng.chance(pToward) ? toward : !toward, devBps };
  };

  // Batch mode: reads cached per batch (the chain does not move until evm_mine), adjusted by the
  // batch's own actions so that later actions of the same batch stay valid. Outside batch mode
  // every read goes to the node.
  let bs = null;
  const cached = async (map, key, read) => {
    if (!bs) return read();
    if (!bs[map].has(key)) bs[map].set(key, await read());
    return bs[map].get(key);
  };
  const v2Reserves = (p) => cached('v2', p.address, async () => {
    const [r0, r1] = await new ethers.Contract(p.address, V2_PAIR_ABI, provider).getReserves(at);
    return [r0, r1];
  });
  const v2Lp = (p) => cached('lp', p.address, () => new ethers.Contract(p.address, V2_PAIR_ABI, provider).balanceOf(actor, at));
  const v3State = (p) => cached('v3', p.address, async () => {
    const pool = new ethers.Contract(p.address, V3_POOL_ABI, provider);
    const [s0, L] = await Promise.all([pool.slot0(at), pool.liquidity(at)]);
    return { slot0: { sqrtPriceX96: s0.sqrtPriceX96, tick: s0.tick }, L };
  });
  const v3Position = (p, key) => cached('pos', `${p.address}:${key}`, async () => {
    const [have] = await new ethers.Contract(p.address, V3_POOL_ABI, provider).positions(key, at);
    return have;
  });
  // Explicit gas limits in batch mode, well below the sender's default 2.5M per transaction.
  const BATCH_GAS = { v2_swap: 250_000n, v3_swap: 1_200_000n, v2_mint: 300_000n, v2_burn: 300_000n, v3_mint: 1_000_000n, v3_burn: 600_000n };

  const buildAction = async (kind) => {
    if (kind === 'v2_swap') {
      const p = rng.pick(v2Pools);
      const [r0, r1] = await v2Reserves(p);
      const price = humanPrice(p, Number(r1) / Number(r0));
      const { zeroForOne, devBps } = direction(p, price);
      const moveBps = moveFor(p);
      const amountIn = big(Number(zeroForOne ? r0 : r1) * (moveBps / 1e4) / 2);
      if (amountIn === 0n) return null;
      return { p, info: { zeroForOne, amountIn: amountIn.toString(), targetMoveBps: +moveBps.toFixed(1), devBpsBefore: +devBps.toFixed(1) },
        data: actorIf.encodeFunctionData('v2Swap', [p.address, zeroForOne, amountIn, 0n, sender.address]) };
    }
    if (kind === 'v3_swap') {
      const p = rng.pick(v3Pools);
      const v3 = await v3State(p);
      const { slot0, L } = v3;
      const s = Math.sqrt(rawFromSqrtPriceX96(slot0.sqrtPriceX96));
      const { zeroForOne, devBps } = direction(p, humanPrice(p, s * s));
      const moveBps = moveFor(p);
      const m = moveBps / 1e4;
      let amountIn = zeroForOne ? (Number(L) * m) / (2 * s) : (Number(L) * s * m) / 2;
      if (Number(L) === 0) {
        const t = tokens[(zeroForOne ? p.token0 : p.token1).toLowerCase()];
        amountIn = (10_000 / ref[t.symbol]) * 10 ** t.decimals;
      }
      // Generous input with the target price as the limit: the pool stops there even when the
      // swap leaves a narrow range and crosses into thinner liquidity.
      const amt = big(amountIn * 4);
      if (amt === 0n) return null;
      const factor = BigInt(Math.round(Math.sqrt(zeroForOne ? 1 - m : 1 + m) * 1e12));
      let limit = (slot0.sqrtPriceX96 * factor) / 10n ** 12n;
      if (limit <= MIN_SQRT_RATIO) limit = MIN_SQRT_RATIO + 1n;
      if (limit >= MAX_SQRT_RATIO) limit = MAX_SQRT_RATIO - 1n;
      // The generous input takes the pool to the limit: the next swap of the batch starts there.
      if (bs) v3.slot0 = { ...slot0, sqrtPriceX96: limit };
      return { p, info: { zeroForOne, amountIn: amt.toString(), targetMoveBps: +moveBps.toFixed(1), devBpsBefore: +devBps.toFixed(1), tick: Number(slot0.tick) },
        data: actorIf.encodeFunctionData('v3Swap', [p.address, zeroForOne, amt, limit, sender.address]) };
    }
    if (kind === 'v2_mint') {
      const p = rng.pick(v2Pools);
      const [r0, r1] = await v2Reserves(p);
      const u = rng.uniform(0.005, 0.03);
      const a0 = big(Number(r0) * u);
      const a1 = big(Number(r1) * u);
      if (a0 === 0n || a1 === 0n) return null;
      return { p, info: { amount0: a0.toString(), amount1: a1.toString() }, data: actorIf.encodeFunctionData('v2Mint', [p.address, a0, a1]) };
    }
    if (kind === 'v2_burn') {
      const p = rng.pick(v2Pools);
      const lp = await v2Lp(p);
      const liq = big(Number(lp) * rng.uniform(0.005, 0.03));
      if (liq === 0n) return null;
      if (bs) bs.lp.set(p.address, lp - liq);
      return { p, info: { liquidity: liq.toString() }, data: actorIf.encodeFunctionData('v2Burn', [p.address, liq, sender.address]) };
    }
    if (kind === 'v3_mint') {
      const p = rng.pick(v3Pools);
      const { slot0, L } = await v3State(p);
      const sp = p.tickSpacing;
      const width = rng.pick([2, 4, 10, 40, 200]) * sp;
      const center = Number(slot0.tick) + Math.round(rng.uniform(-0.75, 0.75) * width);
      let tl = Math.floor((center - width / 2) / sp) * sp;
      let tu = tl + width;
      tl = Math.max(tl, Math.ceil(-887272 / sp) * sp);
      tu = Math.min(tu, Math.floor(887272 / sp) * sp);
      const liq = Number(L) > 0 ? big(Number(L) * rng.uniform(0.01, 0.1)) : 10n ** 15n;
      v3Positions.get(p.address).push({ tickLower: tl, tickUpper: tu, seed: false });
      return { p, info: { tickLower: tl, tickUpper: tu, liquidity: liq.toString(), currentTick: Number(slot0.tick) },
        data: actorIf.encodeFunctionData('v3Mint', [p.address, tl, tu, liq]) };
    }
    if (kind === 'v3_burn') {
      const p = rng.pick(v3Pools);
      const list = v3Positions.get(p.address);
      if (!list.length) return null;
      const pos = rng.pick(list);
      const key = ethers.solidityPackedKeccak256(['address', 'int24', 'int24'], [actor, pos.tickLower, pos.tickUpper]);
      const have = await v3Position(p, key);
      const liq = big(Number(have) * (pos.seed ? rng.uniform(0.01, 0.05) : rng.uniform(0.2, 0.6)));
      if (liq === 0n || liq > have) return null;
      if (bs) bs.pos.set(`${p.address}:${key}`, have - liq);
      return { p, info: { tickLower: pos.tickLower, tickUpper: pos.tickUpper, liquidity: liq.toString() },
        data: actorIf.encodeFunctionData('v3Burn', [p.address, pos.tickLower, pos.tickUpper, liq, sender.address]) };
    }
    throw new Error(`unknown action ${kind}`);
  };

  const inflight = new Set();
  const track = (line, hash) => {
    const pr = waitReceipt(provider, hash, { timeoutMs: 120_000 })
      .then((rc) => {
        const ok = rc.status === '0x1';
        counts[ok ? 'ok' : 'reverted']++;
        emit(JSON.stringify({ ...line, status: ok ? 'ok' : 'reverted', block: Number(rc.blockNumber), gasUsed: Number(rc.gasUsed), logs: rc.logs.length }));
      })
      .catch((e) => {
        counts.error++;
        emit(JSON.stringify({ ...line, status: 'error', error: String(e.message || e).slice(0, 200) }));
      })
      .finally(() => inflight.delete(pr));
    inflight.add(pr);
    return pr;
  };

  // Cover every action kind once first (shuffled), then draw by weight.
  const firstRound = Object.keys(ACTION_WEIGHTS);
  for (let i = firstRound.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [firstRound[i], firstRound[j]] = [firstRound[j], firstRound[i]];
  }
  const t0 = Date.now();
  live.t0 = t0;
  const end = durationS > 0 ? t0 + durationS * 1000 : Infinity;
  let next = t0;
  let seq = 0;
  const more = () => {
    live.seq = seq;
    return !signal.aborted && Date.now() < end && (maxActions <= 0 || seq < maxActions);
  };

  // Builds and sends one action. Returns { line, hash } once sent, or null (skipped / failed).
  const step = async () => {
    stepRef();
    let kind = seq < firstRound.length ? firstRound[seq] : weightedPick(rng, ACTION_WEIGHTS);
    let built = null;
    try {
      built = await buildAction(kind);
      if (!built && (kind === 'v3_burn' || kind === 'v2_burn')) {
        kind = kind === 'v3_burn' ? 'v3_mint' : 'v2_mint';
        built = await buildAction(kind);
      }
    } catch (e) {
      counts.error++;
      emit(JSON.stringify({ seq, action: kind, status: 'error', error: String(e.message || e).slice(0, 200) }));
      seq++;
      return null;
    }
    if (!built) {
      counts.skipped++;
      seq++;
      return null;
    }
    const { p } = built;
    const line = { seq, t: Date.now(), action: kind, venue: p.venue, pool: p.address, pair: `${p.symbol0}/${p.symbol1}`, fee: p.fee, ...built.info };
    seq++;
    counts.byAction[kind] = (counts.byAction[kind] || 0) + 1;
    try {
      const { hash, nonce } = await sender.send({ to: actor, data: built.data, gasLimit: bs ? BATCH_GAS[kind] : undefined });
      counts.sent++;
      return { line: { ...line, tx: hash, nonce }, hash };
    } catch (e) {
      counts.error++;
      emit(JSON.stringify({ ...line, status: 'error', error: String(e.shortMessage || e.message || e).slice(0, 200) }));
      return null;
    }
  };

  emit(JSON.stringify({ event: 'start', driver: sender.address, rate, durationS, maxActions, seed, pipeline, batch, rpc: manifest.rpc.http }));
  if (batch > 0) {
    counts.blocks = 0;
    await provider.send('evm_setAutomine', [false]);
    try {
      while (more()) {
        bs = { v2: new Map(), lp: new Map(), v3: new Map(), pos: new Map() };
        const sent = [];
        for (let i = 0; i < batch && more(); i++) {
          const s = await step();
          if (s) sent.push(s);
        }
        // Mine until every transaction of the batch is in a block (one block holds what fits in
        // its gas limit).
        for (let k = 0; k < 64; k++) {
          await provider.send('evm_mine', []);
          counts.blocks++;
          const st = await provider.send('txpool_status', []);
          if (Number(st.pending) === 0 && Number(st.queued) === 0) break;
        }
        await Promise.allSettled(sent.map((s) => track(s.line, s.hash)));
      }
    } finally {
      bs = null;
      await provider.send('evm_setAutomine', [true]);
    }
  }
  while (batch === 0 && more()) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, end - Date.now())));
    if (signal.aborted || Date.now() >= end) break;
    // Exponential gaps clamped to [0.1, 3] mean gaps (the clamped mean is 0.955, hence the divisor).
    next = Math.max(next + (1000 / rate) * Math.min(Math.max(-Math.log(1 - rng.next()), 0.1), 3) / 0.955, Date.now() - 1000);
    const s = await step();
    if (!s) continue;
    const pr = track(s.line, s.hash);
    if (!pipeline) await pr;
    else if (inflight.size > 64) await Promise.race(inflight);
  }
  await Promise.allSettled([...inflight]);
  provider.destroy();
  const summary = summaryOf(counts, t0, seq);
  emit(JSON.stringify(summary));
  return summary;
}

// What the running driver has done so far, for the summary a fatal error still prints.
const live = { counts: null, t0: Date.now(), seq: 0 };
const summaryOf = (counts, t0, actions, fatal) => ({
  event: 'summary', elapsedS: +((Date.now() - t0) / 1000).toFixed(2), actions, ...counts, ...(fatal ? { fatal } : {}),
});

function parseArgs(argv) {
  const o = { manifest: null, rate: 5, durationS: 0, maxActions: 0, seed: 1, pipeline: undefined, batch: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--manifest') o.manifest = val();
    else if (a === '--rate') o.rate = Number(val());
    else if (a === '--duration-s') o.durationS = Number(val());
    else if (a === '--seed') o.seed = Number(val());
    else if (a === '--max-actions') o.maxActions = Number(val());
    else if (a === '--pipeline') o.pipeline = true;
    else if (a === '--batch') o.batch = Number(val());
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.rate > 0)) throw new Error('--rate must be > 0');
  if (!(o.durationS >= 0)) throw new Error('--duration-s must be >= 0');
  if (!Number.isInteger(o.maxActions) || o.maxActions < 0) throw new Error('--max-actions must be an integer >= 0');
  if (!Number.isInteger(o.batch) || o.batch < 0) throw new Error('--batch must be an integer >= 0');
  return o;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`driver: ${e.message}`);
    process.exit(2);
  }
  if (o.help || !o.manifest) {
    console.error('usage: node chain/driver.mjs --manifest manifest.json [--rate 5] [--duration-s N] [--max-actions N] [--seed N] [--pipeline] [--batch N]');
    process.exit(o.help ? 0 : 2);
  }
  const manifest = JSON.parse(fs.readFileSync(o.manifest, 'utf8'));
  const signal = { aborted: false };
  process.on('SIGINT', () => { signal.aborted = true; });
  process.on('SIGTERM', () => { signal.aborted = true; });
  // A fatal error still ends with the summary line (what was sent and mined until then) and the
  // stack on stderr, so that a test running the driver can say what stopped it.
  const die = (what, e) => {
    console.error(`driver: ${what}: ${e?.stack || e?.message || e}`);
    console.log(JSON.stringify(summaryOf(live.counts ?? {}, live.t0, live.seq, `${what}: ${String(e?.message || e).slice(0, 200)}`)));
    process.exit(1);
  };
  // A promise rejected where nothing awaits it (inside a library) does not stop the market: it is
  // reported on stderr and counted as an error; more than 20 of them end the run.
  let stray = 0;
  process.on('unhandledRejection', (e) => {
    if (live.counts) live.counts.error++;
    console.error(`driver: unhandled rejection (${++stray}): ${e?.stack || e}`);
    if (stray > 20) die('too many unhandled rejections', e);
  });
  process.on('uncaughtException', (e) => die('uncaught exception', e));
  try {
    const s = await runDriver({ ...o, manifest, signal });
    process.exit(s.sent > 0 && s.ok === 0 ? 1 : 0);
  } catch (e) {
    die('stopped', e);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
