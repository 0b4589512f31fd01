#!/usr/bin/env node
// Differential-test case generator for torq's AMM math (tests/strategy/amm_chain_test.cpp).
//
// Starts its own `anvil --chain-id 137` (from chain/node_modules), deploys two test tokens, the
// real UniswapV2Factory + one pair and the real UniswapV3Factory (npm build artifacts, with the
// 100-pip / spacing-1 tier enabled), compiles tests/strategy/AmmDiffHelper.sol with the npm solc,
// then generates seeded random cases and asks the chain for the answers in batched eth_calls:
//   V2: reserves set on the real pair; the UniswapV2Library formula evaluated on chain; the real
//       pair's swap probed at the answer and one wei beyond it.
//   V3: a real pool created, initialized at a random price, random positions minted, the real
//       pool.swap executed (exact input and exact output, random price limits).
// Writes one case per line (format at the bottom) and exits 0. Nothing here talks to any host but
// the local anvil.
//
//   node tests/strategy/amm_chain_cases.mjs --out FILE [--v2 2000] [--v3 1000] [--seed 1]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHAIN_DIR = path.resolve(HERE, '../../chain');
const require = createRequire(path.join(CHAIN_DIR, 'package.json'));
const { ethers } = require('ethers');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const OUT = arg('out', null);
const N_V2 = Number(arg('v2', 2000));
const N_V3 = Number(arg('v3', 1000));
const SEED = Number(arg('seed', 1));
if (!OUT) {
  console.error('usage: amm_chain_cases.mjs --out FILE [--v2 N] [--v3 N] [--seed S]');
  process.exit(2);
}

// ------------------------------------------------------------------ seeded randomness (BigInt)
let rs = (SEED >>> 0) || 0x9e3779b9;
function rnd() {  // mulberry32
  let t = (rs = (rs + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const rint = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const chance = (p) => rnd() < p;
function randBits(bits) {  // uniform in [0, 2^bits)
  let v = 0n;
  for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(Math.floor(rnd() * 4294967296));
  return v & ((1n << BigInt(bits)) - 1n);
}
function logUniform(minBits, maxBits) {  // roughly log-uniform in [2^minBits, 2^maxBits)
  const b = rint(minBits, maxBits - 1);
  return (1n << BigInt(b)) | randBits(b);
}

// ------------------------------------------------------------------ TickMath (for exact boundaries)
const MIN_TICK = -887272;
const MAX_TICK = 887272;
const MIN_SQRT = 4295128739n;
const MAX_SQRT = 1461446703485210103287273052203988822378723970342n;
const TICK_CONSTS = [0xfff97272373d413259a46990580e213an, 0xfff2e50f5f656932ef12357cf3c7fdccn,
  0xffe5caca7e10e4e61c3624eaa0941cd0n, 0xffcb9843d60f6159c9db58835c926644n, 0xff973b41fa98c081472e6896dfb254c0n,
  0xff2ea16466c96a3843ec78b326b52861n, 0xfe5dee046a99a2a811c461f1969c3053n, 0xfcbe86c7900a88aedcffc83b479aa3a4n,
  0xf987a7253ac413176f2b074cf7815e54n, 0xf3392b0822b70005940c7a398e4b70f3n, 0xe7159475a2c29b7443b29c7fa6e889d9n,
  0xd097f3bdfd2022b8845ad8f792aa5825n, 0xa9f746462d870fdf8a65dc1f90e061e5n, 0x70d869a156d2a1b890bb3df62baf32f7n,
  0x31be135f97d08fd981231505542fcfa6n, 0x9aa508b5b7a84e1c677de54f3e99bc9n, 0x5d6af8dedb81196699c329225ee604n,
  0x2216e584f5fa1ea926041bedfe98n, 0x48a170391f7dc42444e8fa2n];
function sqrtAtTick(tick) {
  const a = BigInt(Math.abs(tick));
  let ratio = (a & 1n) ? 0xfffcb933bd6fad37aa2d162d1a594001n : 1n << 128n;
  for (let i = 1; i < 20; i++) if ((a >> BigInt(i)) & 1n) ratio = (ratio * TICK_CONSTS[i - 1]) >> 128n;
  if (tick > 0) ratio = ((1n << 256n) - 1n) / ratio;
  return (ratio >> 32n) + (ratio % (1n << 32n) === 0n ? 0n : 1n);
}

// ------------------------------------------------------------------ anvil + JSON-RPC
function anvilPath() {
  try {
    const pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
    const bin = path.join(path.dirname(pkg), 'bin', 'anvil');
    if (fs.existsSync(bin)) return bin;
  } catch { /* fall through */ }
  return path.join(CHAIN_DIR, 'node_modules', '.bin', 'anvil');
}

async function startAnvil() {
  const args = ['--chain-id', '137', '--port', '0', '--host', '127.0.0.1', '--gas-limit', '1000000000000',
    '--disable-code-size-limit', '--accounts', '2', '--hardfork', 'cancun',
    '--max-persisted-states', '0'];  // no block states on disk (chain/fixture.mjs)
  const child = spawn(anvilPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil did not start:\n${out}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/Listening on [0-9.]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.on('data', (d) => { out += d.toString(); });
    child.on('exit', (c) => reject(new Error(`anvil exited (${c}):\n${out}`)));
  });
  child.removeAllListeners('exit');
  child.stdout.resume();
  const kill = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', kill);
  return { child, url: `http://127.0.0.1:${port}`, kill };
}

let RPC_URL = '';
let rpcId = 1;
async function rpc(method, params) {
  const res = await fetch(RPC_URL, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method, params }) });
  const j = await res.json();
  if (j.error) throw new Error(`${method}: ${JSON.stringify(j.error)}`);
  return j.result;
}

let FROM = '';
async function sendTx(to, data) {
  const hash = await rpc('eth_sendTransaction', [{ from: FROM, to, data, gas: '0x' + (500_000_000).toString(16) }]);
  let rc = null;
  for (let i = 0; i < 3000 && !rc; i++) {  // automine: usually immediate; poll up to ~30 s
    rc = await rpc('eth_getTransactionReceipt', [hash]);
    if (!rc) await new Promise((r) => setTimeout(r, 10));
  }
  if (!rc || rc.status !== '0x1') throw new Error(`transaction failed: ${to} ${data.slice(0, 10)}`);
  return rc;
}
async function deploy(bytecode, abi, args = []) {
  const f = new ethers.ContractFactory(abi, bytecode);
  const tx = await f.getDeployTransaction(...args);
  const rc = await sendTx(null, tx.data);
  return ethers.getAddress(rc.contractAddress);
}

function compileHelper() {
  const solc = require('solc');
  const src = fs.readFileSync(path.join(HERE, 'AmmDiffHelper.sol'), 'utf8');
  const input = { language: 'Solidity', sources: { 'AmmDiffHelper.sol': { content: src } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } } };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errs = (out.errors || []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts['AmmDiffHelper.sol'];
  const pick = (n) => ({ abi: c[n].abi, bytecode: '0x' + c[n].evm.bytecode.object });
  return { token: pick('AmmDiffToken'), helper: pick('AmmDiffHelper') };
}

// ------------------------------------------------------------------ case generation
const U112 = (1n << 112n) - 1n;
function libIn(aout, rin, rout) { return (rin * aout * 1000n) / ((rout - aout) * 997n) + 1n; }

function genV2() {
  const tiny = chance(0.1);
  const r0 = tiny ? BigInt(rint(1, 5000)) : logUniform(1, 112);
  const r1 = tiny ? BigInt(rint(1, 5000)) : logUniform(1, 112);
  const zeroForOne = chance(0.5);
  const exactOut = chance(0.5);
  const [rin, rout] = zeroForOne ? [r0, r1] : [r1, r0];
  let amount;
  for (let k = 0; k < 50; k++) {
    if (!exactOut) {
      amount = chance(0.05) ? 0n : logUniform(0, Math.min(112, rin.toString(2).length + rint(-40, 20)) || 1);
      if (rin + amount <= U112) break;
    } else {
      if (chance(0.05)) { amount = rout + BigInt(rint(0, 3)); break; }  // too much: library reverts
      amount = rout > 1n ? 1n + (randBits(rout.toString(2).length + 1) % (rout - 1n)) : 1n;
      if (chance(0.7)) amount = amount >> BigInt(rint(0, Math.max(0, rout.toString(2).length - 1)));
      if (amount === 0n) amount = 1n;
      if (amount < rout && rin + libIn(amount, rin, rout) <= U112) break;
    }
  }
  return { r0, r1, zeroForOne, exactOut, amount };
}

const FEES = [[100, 1], [500, 10], [3000, 60], [10000, 200]];
function align(t, s) { return Math.floor(t / s) * s; }
function clampTick(t, s) {
  const lo = Math.ceil(MIN_TICK / s) * s;
  const hi = Math.floor(MAX_TICK / s) * s;
  return Math.min(Math.max(t, lo), hi);
}

function genV3() {
  const [fee, s] = FEES[rint(0, 3)];
  const extreme = chance(0.05);
  const center = extreme ? (chance(0.5) ? MIN_TICK + rint(0, 3000) : MAX_TICK - rint(1, 3000)) : rint(-300000, 300000);
  // Initial price: exactly on a tick boundary (often an initialized one) or anywhere inside a tick.
  const onBoundary = chance(0.25);
  let sqrtInit;
  if (onBoundary) {
    sqrtInit = sqrtAtTick(clampTick(align(center, s), s));
  } else {
    const lo = sqrtAtTick(Math.max(MIN_TICK, Math.min(center, MAX_TICK - 1)));
    const hi = sqrtAtTick(Math.max(MIN_TICK, Math.min(center, MAX_TICK - 1)) + 1);
    sqrtInit = lo + randBits(hi.toString(2).length) % (hi - lo);
  }
  if (sqrtInit < MIN_SQRT) sqrtInit = MIN_SQRT;
  if (sqrtInit >= MAX_SQRT) sqrtInit = MAX_SQRT - 1n;
  // Positions: a scale (ticks) per case so that some swaps cross dozens of ticks.
  const scale = [2, 10, 60, 400, 5000][rint(0, 4)] * s;
  const ladder = chance(0.25);
  const n = ladder ? rint(20, 40) : (rint(0, 1) === 0 ? rint(1, 6) : rint(6, 40));
  const lowers = []; const uppers = []; const liqs = [];
  const baseL = logUniform(20, 90);
  for (let i = 0; i < n; i++) {
    let lo = clampTick(align(center + rint(-scale, scale), s), s);
    let hi = clampTick(lo + s * rint(1, Math.max(1, Math.floor(scale / s))), s);
    if (ladder) {  // adjacent narrow ranges: big swaps cross one initialized tick after another
      lo = clampTick(align(center, s) + (i - (n >> 1)) * s * rint(1, 2), s);
      hi = clampTick(lo + s * rint(1, 3), s);
    }
    if (onBoundary && chance(0.3)) lo = clampTick(align(center, s), s);
    if (hi <= lo) {
      const minT = Math.ceil(MIN_TICK / s) * s;
      const maxT = Math.floor(MAX_TICK / s) * s;
      if (lo + s <= maxT) hi = lo + s;
      else { hi = maxT; lo = Math.max(minT, hi - s); }
    }
    const L = chance(0.2) ? logUniform(1, 96) : (baseL >> BigInt(rint(0, 8))) + 1n;
    lowers.push(lo); uppers.push(hi); liqs.push(L);
  }
  const zeroForOne = chance(0.5);
  const exactIn = chance(0.5);
  const mag = chance(0.1) ? logUniform(150, 200) : ladder ? logUniform(baseL.toString(2).length - 20, baseL.toString(2).length + 12) : logUniform(0, Math.min(200, baseL.toString(2).length + rint(-30, 30)));
  let amountSpecified = exactIn ? mag : -mag;
  if (chance(0.01)) amountSpecified = 0n;
  let sqrtPriceLimit;
  const r = rnd();
  if (r < 0.6) sqrtPriceLimit = zeroForOne ? MIN_SQRT + 1n : MAX_SQRT - 1n;
  else if (r < 0.95) {
    const t = clampTick(center + (zeroForOne ? -1 : 1) * rint(1, scale * 2), 1);
    sqrtPriceLimit = sqrtAtTick(Math.max(MIN_TICK + 1, Math.min(MAX_TICK - 1, t))) + (chance(0.5) ? 0n : randBits(20));
    if (sqrtPriceLimit <= MIN_SQRT) sqrtPriceLimit = MIN_SQRT + 1n;
    if (sqrtPriceLimit >= MAX_SQRT) sqrtPriceLimit = MAX_SQRT - 1n;
  } else {
    sqrtPriceLimit = zeroForOne ? sqrtInit + 1n : sqrtInit - 1n;  // wrong side: 'SPL'
  }
  return { fee, s, sqrtInit, lowers, uppers, liqs, zeroForOne, amountSpecified, sqrtPriceLimit };
}

// ------------------------------------------------------------------ main
async function main() {
  const t0 = Date.now();
  const anvil = await startAnvil();
  RPC_URL = anvil.url;
  FROM = (await rpc('eth_accounts', []))[0];
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const { token, helper } = compileHelper();
  const v2Factory = require('@uniswap/v2-core/build/UniswapV2Factory.json');
  const v2Pair = require('@uniswap/v2-core/build/UniswapV2Pair.json');
  const v3Factory = require('@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json');
  const hex = (b) => (b.startsWith('0x') ? b : '0x' + b);

  let ta = await deploy(token.bytecode, token.abi);
  let tb = await deploy(token.bytecode, token.abi);
  if (BigInt(ta) > BigInt(tb)) [ta, tb] = [tb, ta];
  const f2 = await deploy(hex(v2Factory.bytecode ?? v2Factory.evm.bytecode.object), v2Factory.abi, [FROM]);
  const f2i = new ethers.Interface(v2Factory.abi);
  await sendTx(f2, f2i.encodeFunctionData('createPair', [ta, tb]));
  const pair = ethers.getAddress(coder.decode(['address'],
    await rpc('eth_call', [{ to: f2, data: f2i.encodeFunctionData('getPair', [ta, tb]) }, 'latest']))[0]);
  const f3 = await deploy(hex(v3Factory.bytecode), v3Factory.abi);
  const f3i = new ethers.Interface(v3Factory.abi);
  await sendTx(f3, f3i.encodeFunctionData('enableFeeAmount', [100, 1]));
  const h = await deploy(helper.bytecode, helper.abi, [ta, tb, pair, f3]);
  const hi = new ethers.Interface(helper.abi);
  void v2Pair;

  const MAGIC = 0x746f72712d616d6dn;
  const lines = [];
  const call = async (data) => rpc('eth_call', [{ from: FROM, to: h, data, gas: '0x' + (200_000_000_000).toString(16) }, 'latest']);

  // V2 in batches of 100, a few batches in flight.
  const v2Cases = Array.from({ length: N_V2 }, genV2);
  const v2Batches = [];
  for (let i = 0; i < v2Cases.length; i += 100) v2Batches.push(v2Cases.slice(i, i + 100));
  let v2Bad = 0;
  const v2Results = await Promise.all(v2Batches.map(async (b) => {
    const data = hi.encodeFunctionData('v2Batch', [b.map((c) => [c.r0, c.r1, c.zeroForOne, c.exactOut, c.amount])]);
    return hi.decodeFunctionResult('v2Batch', await call(data))[0];
  }));
  v2Results.flat().forEach((raw, k) => {
    const c = v2Cases[k];
    let d;
    try {
      d = coder.decode(['uint256', 'uint256', 'uint256', 'bool', 'uint256', 'bool', 'bool'], raw);
    } catch { d = null; }
    if (!d || d[0] !== MAGIC || d[1] !== c.r0 || d[2] !== c.r1) { v2Bad++; return; }
    lines.push(['V2', c.r0, c.r1, +c.zeroForOne, +c.exactOut, c.amount, +d[3], d[4], +d[5], +d[6]].join(' '));
  });

  // V3 in batches of 10 (each case deploys a pool).
  const v3Cases = Array.from({ length: N_V3 }, genV3);
  let v3Bad = 0;
  const v3Batches = [];
  for (let i = 0; i < v3Cases.length; i += 10) v3Batches.push(v3Cases.slice(i, i + 10));
  const v3Results = [];
  for (let i = 0; i < v3Batches.length; i += 4) {
    const group = v3Batches.slice(i, i + 4);
    const res = await Promise.all(group.map(async (b) => {
      const data = hi.encodeFunctionData('v3Batch', [b.map((c) => [c.fee, c.sqrtInit, c.lowers, c.uppers, c.liqs,
        c.zeroForOne, c.amountSpecified, c.sqrtPriceLimit])]);
      return hi.decodeFunctionResult('v3Batch', await call(data))[0];
    }));
    v3Results.push(...res.flat());
  }
  v3Results.forEach((raw, k) => {
    const c = v3Cases[k];
    let d;
    try {
      d = coder.decode(['uint256', 'int256', 'uint256', 'bool', 'int256', 'int256', 'uint256', 'int256', 'uint256'], raw);
    } catch { d = null; }
    if (!d || d[0] !== MAGIC) {
      v3Bad++;
      if (process.env.TORQ_AMM_DEBUG) console.error('v3 setup failed', raw, JSON.stringify(c, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      return;
    }
    const pos = c.lowers.map((lo, j) => `${lo} ${c.uppers[j]} ${c.liqs[j]}`).join(' ');
    lines.push(['V3', c.fee, c.s, c.sqrtInit, +c.zeroForOne, c.amountSpecified, c.sqrtPriceLimit, c.lowers.length, pos,
      d[1], d[2], +d[3], d[4], d[5], d[6], d[7], d[8]].join(' '));
  });

  // Format (whitespace separated, one case per line):
  //   V2 r0 r1 zeroForOne exactOut amount formulaOk formula probeAtFormula probeOneBeyond
  //   V3 fee tickSpacing sqrtPriceInit zeroForOne amountSpecified sqrtPriceLimit nPositions
  //      (lower upper liquidity)*n tickBefore liquidityBefore swapOk amount0 amount1
  //      sqrtPriceAfter tickAfter liquidityAfter
  const header = `# torq amm chain cases seed=${SEED} v2=${N_V2} v2_setup_failed=${v2Bad} v3=${N_V3} v3_setup_failed=${v3Bad}`;
  fs.writeFileSync(OUT, header + '\n' + lines.join('\n') + '\n');
  console.error(`${header} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  anvil.kill();
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
