#!/usr/bin/env node
// Integration test of strategy/contracts/TorqArbitrage.sol on the local chain (anvil, chain id
// 137, real Uniswap V2 pairs on two venues and Uniswap V3 pools): the checked-in artifact matches
// a fresh compile byte for byte; after a dislocation on quickswap's WETH/USDC, 2-hop V2->V2,
// V2->V3, V3->V2 and 3-hop triangular cycles succeed with flash swaps and no capital, the
// profit (exact V2 formula off-chain, or the eth_call prediction for V3 paths) equals the
// Executed event and lands in the contract, and withdraw moves it to the owner; unprofitable
// cycles and a too-high minProfit revert with Unprofitable; a stranger's execute/withdraw
// reverts with NotOwner; direct calls of the callbacks revert with BadCallback; malformed
// paths revert with BadPath, and so does a hop whose input token is not the previous hop's
// output (real pools, and a fake pool that names a token the contract holds: nothing held is
// paid out). Prints one JSON line with the gas used per path kind.
// Exits 77 (skip) when chain/node_modules is absent (npm ci --prefix chain not run).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!fs.existsSync(path.join(ROOT, 'chain', 'node_modules', 'ethers'))
    || !fs.existsSync(path.join(ROOT, 'chain', 'node_modules', 'solc'))) {
  console.log('SKIP: chain/node_modules is absent (run: npm ci --prefix chain)');
  process.exit(77);
}

const { test, before, after } = await import('node:test');
const assert = (await import('node:assert/strict')).default;
const { ethers } = await import(path.join(ROOT, 'chain', 'node_modules', 'ethers', 'lib.esm', 'index.js'));
const { startFixture, stopFixture } = await import(path.join(ROOT, 'chain', 'fixture.mjs'));
const { TxSender, waitReceipt, walletFor, ERC20_ABI } = await import(path.join(ROOT, 'chain', 'lib', 'common.mjs'));
const { compileContracts } = await import(path.join(ROOT, 'chain', 'lib', 'compile.mjs'));
const build = await import(path.join(ROOT, 'strategy', 'contracts', 'build.mjs'));

const ARTIFACT = JSON.parse(fs.readFileSync(build.ARTIFACT_FILE, 'utf8'));
const arbIf = new ethers.Interface(ARTIFACT.abi);
const erc20If = new ethers.Interface(ERC20_ABI);
const V2_PAIR_ABI = ['function getReserves() view returns (uint112,uint112,uint32)'];
const GAS = 2_000_000n;

// ------------------------------------------------------------------------------ path encoding
const KIND = { v2: 0, v3: 1 };
/** One hop: pool (20 bytes) | kind u8 | zeroForOne u8 | V2 fee numerator u16 big-endian. */
function hop(pool, kind, zeroForOne, fee = kind === KIND.v2 ? 997 : 0) {
  return ethers.solidityPacked(['address', 'uint8', 'uint8', 'uint16'], [pool, kind, zeroForOne ? 1 : 0, fee]);
}
const encodePath = (hops) => ethers.concat(hops);

/** Uniswap V2 getAmountOut with a fee numerator over 1000. */
function v2Out(amountIn, rIn, rOut, fee = 997n) {
  const x = amountIn * fee;
  return (x * rOut) / (rIn * 1000n + x);
}

// ------------------------------------------------------------------------------ fixture state
let fx;
let provider;
let manifest;
let owner; // TxSender, anvil account 2 (executor role)
let stranger; // TxSender, anvil account 3
let deployer; // TxSender, anvil account 0 (approved the pool actor for every token)
let arb; // deployed TorqArbitrage address
let snapDislocated; // snapshot id after the dislocation
const gasReport = {};

const token = (sym) => manifest.tokens.find((t) => t.symbol === sym);
function pool(venue, a, b, fee) {
  const ta = token(a).address.toLowerCase();
  const tb = token(b).address.toLowerCase();
  const p = manifest.pools.find((q) => q.venue === venue
    && ((q.token0.toLowerCase() === ta && q.token1.toLowerCase() === tb) || (q.token0.toLowerCase() === tb && q.token1.toLowerCase() === ta))
    && (fee === undefined || q.fee === fee));
  assert.ok(p, `pool ${venue} ${a}/${b} ${fee ?? ''}`);
  return p;
}
/** Hop that sells `tokenIn` on pool p. */
function hopSelling(p, tokenIn, fee) {
  const zf = p.token0.toLowerCase() === token(tokenIn).address.toLowerCase();
  return hop(p.address, KIND[p.kind], zf, fee);
}

async function balanceOf(tokenAddr, who) {
  const r = await provider.call({ to: tokenAddr, data: erc20If.encodeFunctionData('balanceOf', [who]) });
  return erc20If.decodeFunctionResult('balanceOf', r)[0];
}

async function v2Reserves(p, tokenIn) {
  const c = new ethers.Contract(p.address, V2_PAIR_ABI, provider);
  const [r0, r1] = await c.getReserves();
  const zf = p.token0.toLowerCase() === token(tokenIn).address.toLowerCase();
  return zf ? [r0, r1] : [r1, r0];
}

/** eth_call of a contract function; returns { ok, result } or { ok: false, error: {name, args} }. */
async function simulate(from, fn, args, to = arb) {
  const data = arbIf.encodeFunctionData(fn, args);
  try {
    const ret = await provider.call({ from, to, data, gasLimit: GAS });
    return { ok: true, result: arbIf.decodeFunctionResult(fn, ret) };
  } catch (e) {
    const revert = e.data ?? e.info?.error?.data;
    assert.ok(revert && revert !== '0x', `expected revert data from ${fn}: ${e.message}`);
    const parsed = arbIf.parseError(revert);
    assert.ok(parsed, `unknown revert data ${revert}`);
    return { ok: false, error: { name: parsed.name, args: [...parsed.args] } };
  }
}

/** Sends a transaction and returns its receipt (status 1 or 0). */
async function sendTx(sender, fn, args) {
  const { hash } = await sender.send({ to: arb, data: arbIf.encodeFunctionData(fn, args), gasLimit: GAS });
  return waitReceipt(provider, hash);
}

async function expectRevert(sender, fn, args, errorName) {
  const sim = await simulate(sender.address, fn, args);
  assert.equal(sim.ok, false, `${fn} should revert`);
  assert.equal(sim.error.name, errorName);
  const rc = await sendTx(sender, fn, args);
  assert.equal(Number(rc.status), 0, `${fn} transaction should revert on chain`);
  return sim.error;
}

/** The next block gets a later timestamp than every earlier one, so each measured execute pays
 *  the V2 price-accumulator and V3 oracle updates as on a live chain (anvil may otherwise reuse
 *  a second for consecutive instant-mined blocks). */
async function nextBlockLater() {
  const b = await provider.send('eth_getBlockByNumber', ['latest', false]);
  await provider.send('evm_setNextBlockTimestamp', [Number(b.timestamp) + 2]);
}

async function revertTo(id) {
  assert.equal(await provider.send('evm_revert', [id]), true);
  for (const s of [owner, stranger, deployer]) await s.syncNonce();
  return provider.send('evm_snapshot', []); // a snapshot is consumed by evm_revert
}

/** Best of a few input sizes by eth_call (the prediction is exact on an instant-mining chain). */
async function bestAmount(pathHex, candidates) {
  let best = null;
  for (const a of candidates) {
    const sim = await simulate(owner.address, 'execute', [pathHex, a, 0n]);
    if (sim.ok && (best === null || sim.result[0] > best.profit)) best = { amountIn: a, profit: sim.result[0] };
  }
  assert.ok(best && best.profit > 0n, 'no profitable input size found');
  return best;
}

/** Executes a profitable path with minProfit = predicted profit and checks where the profit went. */
async function executeAndCheck(label, pathHex, amountIn, expectedProfit, startSym) {
  const t0 = token(startSym).address;
  const balBefore = await balanceOf(t0, arb);
  const tooHigh = await simulate(owner.address, 'execute', [pathHex, amountIn, expectedProfit + 1n]);
  assert.equal(tooHigh.ok, false);
  assert.equal(tooHigh.error.name, 'Unprofitable');
  assert.equal(tooHigh.error.args[0], expectedProfit, 'Unprofitable carries the would-be profit');
  assert.equal(tooHigh.error.args[1], expectedProfit + 1n);

  await nextBlockLater();
  const rc = await sendTx(owner, 'execute', [pathHex, amountIn, expectedProfit]);
  assert.equal(Number(rc.status), 1, `${label}: execute mined with status 1`);
  const ev = rc.logs.filter((l) => l.address.toLowerCase() === arb.toLowerCase())
    .map((l) => arbIf.parseLog(l)).find((l) => l && l.name === 'Executed');
  assert.ok(ev, 'Executed event');
  assert.equal(ev.args.pathHash, ethers.keccak256(pathHex));
  assert.equal(ev.args.amountIn, amountIn);
  assert.equal(ev.args.profit, expectedProfit, `${label}: event profit equals the prediction`);
  assert.equal(await balanceOf(t0, arb) - balBefore, expectedProfit, `${label}: profit lands in the contract`);
  gasReport[label] = Number(rc.gasUsed);
  return rc;
}

// ------------------------------------------------------------------------------ setup
before(async () => {
  fx = await startFixture({ port: 0, blockTime: 0 });
  provider = fx.provider;
  manifest = fx.manifest;
  owner = new TxSender(walletFor(2, provider), { gasLimit: GAS });
  stranger = new TxSender(walletFor(3, provider), { gasLimit: GAS });
  deployer = new TxSender(walletFor(0, provider), { gasLimit: GAS });

  const { hash } = await owner.send({ to: null, data: ARTIFACT.bytecode, gasLimit: 3_000_000n });
  const rc = await waitReceipt(provider, hash);
  assert.equal(Number(rc.status), 1, 'deploy');
  arb = ethers.getAddress(rc.contractAddress);
  gasReport.deploy = Number(rc.gasUsed);

  // Touch every V2 pair once in a later second (a $1 swap) so that its price accumulators are
  // nonzero, as on a live chain: the measured gas then has no first-write (20k) SSTOREs.
  const actorIf = new ethers.Interface(compileContracts().TorqPoolActor.abi);
  for (const p of manifest.pools.filter((x) => x.kind === 'v2')) {
    const t0 = manifest.tokens.find((t) => t.address.toLowerCase() === p.token0.toLowerCase());
    const one = BigInt(Math.ceil(10 ** t0.decimals / t0.usdPrice));
    await nextBlockLater();
    const { hash } = await deployer.send({
      to: manifest.contracts.poolActor,
      data: actorIf.encodeFunctionData('v2Swap', [p.address, true, one, 0n, deployer.address]),
      gasLimit: 500_000n,
    });
    assert.equal(Number((await waitReceipt(provider, hash)).status), 1, `touch ${p.venue} ${p.symbol0}/${p.symbol1}`);
  }

  // Dislocation: sell 15 WETH (~$45k, ~4.5% price move) on quickswap's WETH/USDC through the
  // pool actor; WETH is now cheap on quickswap against sushiswap and Uniswap V3.
  const q = pool('quickswap', 'WETH', 'USDC');
  const zf = q.token0.toLowerCase() === token('WETH').address.toLowerCase();
  await nextBlockLater();
  const { hash: h2 } = await deployer.send({
    to: manifest.contracts.poolActor,
    data: actorIf.encodeFunctionData('v2Swap', [q.address, zf, 15n * 10n ** 18n, 0n, deployer.address]),
    gasLimit: 500_000n,
  });
  assert.equal(Number((await waitReceipt(provider, h2)).status), 1, 'dislocation swap');
  snapDislocated = await provider.send('evm_snapshot', []);
});

after(async () => {
  await stopFixture(fx);
  console.log(JSON.stringify({ bench: 'contract_arbitrage_gas', chain: 'anvil-cancun', gasUsed: gasReport }));
});

// ------------------------------------------------------------------------------ tests
test('ShouldMatchCheckedInArtifactWhenRecompiled', () => {
  const text = build.buildArtifactText(build.loadSolc());
  assert.equal(text, fs.readFileSync(build.ARTIFACT_FILE, 'utf8'), 'run node strategy/contracts/build.mjs');
});

test('ShouldDeployWithOwnerAndRuntimeCodeOfArtifact', async () => {
  const sim = await simulate(owner.address, 'owner', []);
  assert.equal(sim.result[0], owner.address);
  const code = await provider.getCode(arb);
  // Runtime code equals the artifact except for the 20-byte owner immutable.
  assert.equal(code.length, ARTIFACT.deployedBytecode.length);
  assert.ok(code.toLowerCase().includes(owner.address.slice(2).toLowerCase()));
});

test('ShouldProfitExactlyAsV2FormulaWhenV2ToV2CycleIsDislocated', async () => {
  snapDislocated = await revertTo(snapDislocated);
  const q = pool('quickswap', 'WETH', 'USDC');
  const s = pool('sushiswap', 'WETH', 'USDC');
  const pathHex = encodePath([hopSelling(q, 'USDC'), hopSelling(s, 'WETH')]);
  const [qIn, qOut] = await v2Reserves(q, 'USDC');
  const [sIn, sOut] = await v2Reserves(s, 'WETH');
  const profitOf = (x) => v2Out(v2Out(x, qIn, qOut), sIn, sOut) - x;
  // Integer ternary search for the best input (the profit is unimodal in the input).
  let lo = 1n;
  let hi = qIn / 10n;
  while (hi - lo > 2n) {
    const m1 = lo + (hi - lo) / 3n;
    const m2 = hi - (hi - lo) / 3n;
    if (profitOf(m1) < profitOf(m2)) lo = m1; else hi = m2;
  }
  const amountIn = lo;
  const expected = profitOf(amountIn);
  assert.ok(expected > 100n * 10n ** 6n, `dislocation should leave > $100 profit, got ${expected}`);
  const ownerUsdc = await balanceOf(token('USDC').address, owner.address);
  await executeAndCheck('v2_v2', pathHex, amountIn, expected, 'USDC');
  // The owner spent nothing but gas: no USDC left its account (no upfront capital).
  assert.equal(await balanceOf(token('USDC').address, owner.address), ownerUsdc);

  // The arbitrage closed the gap: the same cycle is no longer profitable.
  const again = await simulate(owner.address, 'execute', [pathHex, amountIn, 0n]);
  assert.equal(again.ok, false);
  assert.equal(again.error.name, 'Unprofitable');
  assert.ok(again.error.args[0] < 0n);

  // Withdraw: a stranger cannot, the owner gets all of it.
  await expectRevert(stranger, 'withdraw', [token('USDC').address, ethers.MaxUint256], 'NotOwner');
  const rc = await sendTx(owner, 'withdraw', [token('USDC').address, ethers.MaxUint256]);
  assert.equal(Number(rc.status), 1);
  assert.equal(await balanceOf(token('USDC').address, arb), 0n);
  assert.equal(await balanceOf(token('USDC').address, owner.address), ownerUsdc + expected);
  gasReport.withdraw = Number(rc.gasUsed);

  // Peer: the same two swaps as two plain transactions through the pool actor (with capital,
  // no atomicity): what the flash-swap contract is compared with.
  const actorIf = new ethers.Interface(compileContracts().TorqPoolActor.abi);
  const wethOut = v2Out(amountIn, qIn, qOut);
  let peer = 0;
  for (const [p, zf, amt] of [[q, q.token0.toLowerCase() === token('USDC').address.toLowerCase(), amountIn],
    [s, s.token0.toLowerCase() === token('WETH').address.toLowerCase(), wethOut]]) {
    await nextBlockLater();
    const { hash } = await deployer.send({ to: manifest.contracts.poolActor,
      data: actorIf.encodeFunctionData('v2Swap', [p.address, zf, amt, 0n, deployer.address]), gasLimit: 500_000n });
    const r = await waitReceipt(provider, hash);
    assert.equal(Number(r.status), 1);
    peer += Number(r.gasUsed);
  }
  gasReport.peer_two_plain_v2_swap_txs = peer;
});

test('ShouldProfitWhenV2ToV3CycleIsDislocated', async () => {
  snapDislocated = await revertTo(snapDislocated);
  const pathHex = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('uniswap-v3', 'WETH', 'USDC', 500), 'WETH')]);
  const usdc = (n) => BigInt(n) * 10n ** 6n;
  const best = await bestAmount(pathHex, [usdc(5_000), usdc(15_000), usdc(30_000), usdc(45_000), usdc(60_000)]);
  await executeAndCheck('v2_v3', pathHex, best.amountIn, best.profit, 'USDC');
});

test('ShouldProfitWhenV3FlashStartsTheCycle', async () => {
  snapDislocated = await revertTo(snapDislocated);
  // Start token WETH: sell WETH on Uniswap V3 (flash: the pool pays USDC straight into the
  // quickswap pair), buy it back cheaply on quickswap, repay the V3 pool in the callback.
  const pathHex = encodePath([hopSelling(pool('uniswap-v3', 'WETH', 'USDC', 500), 'WETH'),
    hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC')]);
  const weth = (n) => BigInt(Math.round(n * 1000)) * 10n ** 15n;
  const best = await bestAmount(pathHex, [weth(2), weth(5), weth(10), weth(15), weth(20)]);
  await executeAndCheck('v3_v2', pathHex, best.amountIn, best.profit, 'WETH');
});

test('ShouldProfitWhenTriangularCycleRunsThroughAV3PoolInTheMiddle', async () => {
  snapDislocated = await revertTo(snapDislocated);
  // USDC -> WETH (quickswap, flash) -> WMATIC (Uniswap V3 0.3%, paid in its callback, output
  // straight into the next pair) -> USDC (sushiswap).
  const pathHex = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('uniswap-v3', 'WETH', 'WMATIC', 3000), 'WETH'),
    hopSelling(pool('sushiswap', 'WMATIC', 'USDC'), 'WMATIC')]);
  const usdc = (n) => BigInt(n) * 10n ** 6n;
  const best = await bestAmount(pathHex, [usdc(5_000), usdc(15_000), usdc(30_000), usdc(45_000)]);
  await executeAndCheck('v2_v3_v2', pathHex, best.amountIn, best.profit, 'USDC');
});

test('ShouldProfitWhenTriangularCycleStartsWithV3FlashAndEndsOnV3', async () => {
  snapDislocated = await revertTo(snapDislocated);
  // WMATIC -> USDC (V3 0.3%, flash) -> WETH (quickswap, cheap) -> WMATIC (V3 0.3%, paid).
  const pathHex = encodePath([hopSelling(pool('uniswap-v3', 'WMATIC', 'USDC', 3000), 'WMATIC'),
    hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('uniswap-v3', 'WETH', 'WMATIC', 3000), 'WETH')]);
  const wmatic = (usd) => BigInt(usd * 2) * 10n ** 18n;
  const best = await bestAmount(pathHex, [wmatic(5_000), wmatic(15_000), wmatic(30_000), wmatic(45_000)]);
  await executeAndCheck('v3_v2_v3', pathHex, best.amountIn, best.profit, 'WMATIC');
  // Triangular V2-only cycle too: USDC -> WETH (quickswap) -> WMATIC (sushiswap) -> USDC (quickswap).
  snapDislocated = await revertTo(snapDislocated);
  const q = pool('quickswap', 'WETH', 'USDC');
  const sw = pool('sushiswap', 'WETH', 'WMATIC');
  const qm = pool('quickswap', 'WMATIC', 'USDC');
  const tri = encodePath([hopSelling(q, 'USDC'), hopSelling(sw, 'WETH'), hopSelling(qm, 'WMATIC')]);
  const r = [await v2Reserves(q, 'USDC'), await v2Reserves(sw, 'WETH'), await v2Reserves(qm, 'WMATIC')];
  const amountIn = 10_000n * 10n ** 6n;
  const expected = v2Out(v2Out(v2Out(amountIn, ...r[0]), ...r[1]), ...r[2]) - amountIn;
  assert.ok(expected > 0n);
  await executeAndCheck('v2_v2_v2', tri, amountIn, expected, 'USDC');
});

test('ShouldRevertUnprofitableWhenPricesAgree', async () => {
  snapDislocated = await revertTo(snapDislocated);
  // WMATIC/USDC was not dislocated: its venues agree (< 1 bp), so every cycle loses the fees.
  const pathHex = encodePath([hopSelling(pool('quickswap', 'WMATIC', 'USDC'), 'USDC'),
    hopSelling(pool('sushiswap', 'WMATIC', 'USDC'), 'WMATIC')]);
  const err = await expectRevert(owner, 'execute', [pathHex, 1_000n * 10n ** 6n, 0n], 'Unprofitable');
  assert.ok(err.args[0] < 0n, 'two 0.3% fees make the flat cycle lose money');
  // A V3 path too (flash from V3): the loss is reported, nothing is paid from the contract.
  const v3Path = encodePath([hopSelling(pool('uniswap-v3', 'WMATIC', 'USDC', 3000), 'WMATIC'),
    hopSelling(pool('quickswap', 'WMATIC', 'USDC'), 'USDC')]);
  const err3 = await expectRevert(owner, 'execute', [v3Path, 2_000n * 10n ** 18n, 0n], 'Unprofitable');
  assert.ok(err3.args[0] < 0n);
});

test('ShouldRevertNotOwnerWhenStrangerExecutes', async () => {
  snapDislocated = await revertTo(snapDislocated);
  const pathHex = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('sushiswap', 'WETH', 'USDC'), 'WETH')]);
  await expectRevert(stranger, 'execute', [pathHex, 1_000n * 10n ** 6n, 0n], 'NotOwner');
});

test('ShouldRevertBadCallbackWhenCallbacksAreCalledDirectly', async () => {
  snapDislocated = await revertTo(snapDislocated);
  const pathHex = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('sushiswap', 'WETH', 'USDC'), 'WETH')]);
  // Seed the contract with funds a stranger would like to drain through a forged callback.
  await executeAndCheck('v2_v2_seed', pathHex, 20_000n * 10n ** 6n,
    (await simulate(owner.address, 'execute', [pathHex, 20_000n * 10n ** 6n, 0n])).result[0], 'USDC');
  delete gasReport.v2_v2_seed;
  const usdcAddr = token('USDC').address;
  const held = await balanceOf(usdcAddr, arb);
  assert.ok(held > 0n);
  for (const s of [stranger, owner]) {
    await expectRevert(s, 'uniswapV2Call', [arb, held, 0n, pathHex], 'BadCallback');
    await expectRevert(s, 'uniswapV2Call', [s.address, held, 0n, pathHex], 'BadCallback');
    await expectRevert(s, 'uniswapV3SwapCallback', [held, -1n, pathHex], 'BadCallback');
    await expectRevert(s, 'uniswapV3SwapCallback', [-1n, held, '0x'], 'BadCallback');
  }
  assert.equal(await balanceOf(usdcAddr, arb), held, 'nothing left the contract');

  // An open path (USDC -> WETH -> WMATIC, not back to USDC) cannot repay hop 0 out of the
  // profits the contract holds: the start-token balance check reverts it.
  const open = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('sushiswap', 'WETH', 'WMATIC'), 'WETH')]);
  const err = await expectRevert(owner, 'execute', [open, held / 2n, 0n], 'Unprofitable');
  assert.equal(err.args[0], -(held / 2n), 'the loss is exactly the unreturned input');
  assert.equal(await balanceOf(usdcAddr, arb), held);
});

test('ShouldRevertBadPathWhenPathIsMalformed', async () => {
  const q = pool('quickswap', 'WETH', 'USDC');
  const s = pool('sushiswap', 'WETH', 'USDC');
  const h0 = hopSelling(q, 'USDC');
  const h1 = hopSelling(s, 'WETH');
  const amt = 1_000n * 10n ** 6n;
  const cases = {
    oneHop: encodePath([h0]),
    fourHops: encodePath([h0, h1, h0, h1]),
    truncated: ethers.dataSlice(encodePath([h0, h1]), 0, 47),
    badKind: encodePath([h0, hop(s.address, 2, true, 997)]),
    badDirection: ethers.concat([ethers.dataSlice(h1, 0, 21), '0x02', ethers.dataSlice(h1, 22)]),
    v2FeeZero: encodePath([h0, hop(s.address, KIND.v2, true, 0)]),
    v2FeeFull: encodePath([h0, hop(s.address, KIND.v2, true, 1000)]),
    zeroPool: encodePath([h0, hop(ethers.ZeroAddress, KIND.v2, true, 997)]),
  };
  cases.badDirection = encodePath([h0, cases.badDirection]);
  for (const [name, p] of Object.entries(cases)) {
    const sim = await simulate(owner.address, 'execute', [p, amt, 0n]);
    assert.equal(sim.ok, false, name);
    assert.equal(sim.error.name, 'BadPath', name);
  }
  const zero = await simulate(owner.address, 'execute', [encodePath([h0, h1]), 0n, 0n]);
  assert.equal(zero.error.name, 'BadPath', 'zero amountIn');
});

/** Compiles and deploys a test-only Solidity contract (source given inline) from the deployer. */
async function deployInline(name, source, types, args) {
  const solc = build.loadSolc();
  const out = JSON.parse(solc.compile(JSON.stringify({
    language: 'Solidity',
    sources: { [`${name}.sol`]: { content: source } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  })));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  assert.equal(errors.length, 0, errors.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts[`${name}.sol`][name];
  const data = ethers.concat(['0x' + c.evm.bytecode.object, ethers.AbiCoder.defaultAbiCoder().encode(types, args)]);
  const { hash } = await deployer.send({ to: null, data, gasLimit: 3_000_000n });
  const rc = await waitReceipt(provider, hash);
  assert.equal(Number(rc.status), 1, `deploy ${name}`);
  return ethers.getAddress(rc.contractAddress);
}

async function mintTo(sym, who, amount) {
  const mintIf = new ethers.Interface(['function mint(address,uint256)']);
  const { hash } = await deployer.send({ to: token(sym).address, data: mintIf.encodeFunctionData('mint', [who, amount]),
    gasLimit: 200_000n });
  assert.equal(Number((await waitReceipt(provider, hash)).status), 1, `mint ${sym}`);
}

test('ShouldRevertBadPathWhenHopInputIsNotThePreviousHopOutput', async () => {
  snapDislocated = await revertTo(snapDislocated);
  // The contract holds USDT (profits of earlier cycles). Hop 0 sells USDC for WETH, but hop 1
  // sells USDT on the USDT/USDC pair: its input is not hop 0's output. The contract must not
  // pay hop 1 in a token it merely holds (here the WETH amount, as a number, of USDT).
  const usdt = token('USDT').address;
  const held = 1_000n * 10n ** 6n;
  await mintTo('USDT', arb, held);
  const mismatched = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'),
    hopSelling(pool('quickswap', 'USDT', 'USDC'), 'USDT')]);
  await expectRevert(owner, 'execute', [mismatched, 1n, 0n], 'BadPath');
  // The same on a V3 hop (paid in its callback) at the end of a 3-hop path: USDC -> WMATIC ->
  // WETH, then a hop that sells USDT instead of WETH.
  const mismatched3 = encodePath([hopSelling(pool('quickswap', 'WMATIC', 'USDC'), 'USDC'),
    hopSelling(pool('sushiswap', 'WETH', 'WMATIC'), 'WMATIC'),
    hopSelling(pool('uniswap-v3', 'USDT', 'USDC', 500), 'USDT')]);
  await expectRevert(owner, 'execute', [mismatched3, 1n, 0n], 'BadPath');
  assert.equal(await balanceOf(usdt, arb), held, 'the held USDT stays');
});

test('ShouldPayAMaliciousPoolOnlyInItsHopInputToken', async () => {
  snapDislocated = await revertTo(snapDislocated);
  // A "pool" the owner mistakenly put in the path names its own tokens: it claims to sell WBTC
  // (which the contract holds) for USDC and pays out just enough USDC for the cycle to look
  // profitable. It must not receive WBTC: its hop's input is hop 0's output, WETH.
  const fakeSrc = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
interface IT { function transfer(address, uint256) external returns (bool); }
contract FakePair {
    address public token0;
    address public token1;
    constructor(address t0, address t1) { token0 = t0; token1 = t1; }
    function getReserves() external pure returns (uint112, uint112, uint32) { return (1e18, 1e13, 0); }
    function swap(uint256 a0, uint256 a1, address to, bytes calldata) external {
        IT(a0 > 0 ? token0 : token1).transfer(to, a0 + a1);
    }
}`;
  const wbtc = token('WBTC').address;
  const usdcAddr = token('USDC').address;
  const fake = await deployInline('FakePair', fakeSrc, ['address', 'address'], [wbtc, usdcAddr]);
  await mintTo('USDC', fake, 1_000n * 10n ** 6n);
  const held = 10n * 10n ** 8n; // 10 WBTC of earlier profits
  await mintTo('WBTC', arb, held);
  const pathHex = encodePath([hopSelling(pool('quickswap', 'WETH', 'USDC'), 'USDC'), hop(fake, KIND.v2, true, 997)]);
  await expectRevert(owner, 'execute', [pathHex, 1n, 0n], 'BadPath');
  assert.equal(await balanceOf(wbtc, arb), held, 'no WBTC left the contract');
  assert.equal(await balanceOf(wbtc, fake), 0n);
});
