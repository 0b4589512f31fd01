#!/usr/bin/env node
// Local chain fixture: starts `anvil --chain-id 137` on a free loopback port, deploys test
// ERC-20s (6, 8 and 18 decimals), two Uniswap V2 factories (standing in for QuickSwap and
// SushiSwap), the Uniswap V3 factory, pools for shared pairs, seeds liquidity (V3 in several tick
// ranges), writes a JSON manifest and keeps anvil running until SIGINT/SIGTERM.
//
//   node chain/fixture.mjs --out manifest.json [--port 0] [--seed N] [--block-time S]
//                          [--host 127.0.0.1] [--keys-out FILE] [--state-file FILE]
//                          [--exit-with-parent]
//
// --exit-with-parent: stop (as on SIGTERM) when the process that started the fixture exits, so
// a test that crashes leaves no fixture and anvil behind.
//
// With --state-file, anvil dumps its chain (blocks, hashes, receipts, current state; not the
// historical states, so after a restart eth_call works from the loaded block on) to FILE when it
// stops, and the node can be restarted like a real one: SIGUSR1 stops anvil (SIGTERM, state
// dumped), SIGUSR2 starts it again on the same port from FILE (--load-state). Each prints
// one JSON line ({"event":"node-stopped"} / {"event":"node-started","anvilPid":N}) and the
// manifest's anvil.pid is rewritten. Module API: stopNode(fx) / startNode(fx).
//
// As a module: `const fx = await startFixture({...}); ...; await stopFixture(fx);`
// Nothing here talks to any host but the local anvil.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ethers } from 'ethers';
import {
  ACCOUNT_ROLES, ANVIL_MNEMONIC, CHAIN_ID, TxSender, amountsForLiquidity, anvilBinary, makeProvider,
  rawPrice, sqrtPriceX96FromRaw, tickFromRaw, uniswapArtifacts, waitReceipt, walletFor, MIN_TICK, MAX_TICK,
} from './lib/common.mjs';
import { compileContracts } from './lib/compile.mjs';

export const MANIFEST_SCHEMA = 'torq-local-chain/1';

/** Tokens: symbol, name, decimals, reference USD price used to seed consistent pool prices. */
export const TOKENS = [
  { symbol: 'USDC', name: 'USD Coin (test)', decimals: 6, usd: 1 },
  { symbol: 'USDT', name: 'Tether USD (test)', decimals: 6, usd: 1 },
  { symbol: 'WETH', name: 'Wrapped Ether (test)', decimals: 18, usd: 3000 },
  { symbol: 'WMATIC', name: 'Wrapped Matic (test)', decimals: 18, usd: 0.5 },
  { symbol: 'WBTC', name: 'Wrapped BTC (test)', decimals: 8, usd: 60000 },
];

/** V2 venues: two separate UniswapV2Factory deployments; tvlUsd is the seeded depth per pair. */
export const V2_VENUES = [
  {
    name: 'quickswap', tvlUsd: 4_000_000,
    pairs: [['WETH', 'USDC'], ['WMATIC', 'USDC'], ['WETH', 'WMATIC'], ['WBTC', 'WETH'], ['USDT', 'USDC'],
      ['WMATIC', 'USDT']],
  },
  {
    name: 'sushiswap', tvlUsd: 1_500_000,
    pairs: [['WETH', 'USDC'], ['WMATIC', 'USDC'], ['WETH', 'WMATIC'], ['WBTC', 'WETH'], ['USDT', 'USDC']],
  },
];

/** Uniswap V3 pools (fee in hundredths of a bip). */
export const V3_POOLS = [
  { pair: ['WETH', 'USDC'], fee: 500 },
  { pair: ['WETH', 'USDC'], fee: 3000 },
  { pair: ['WMATIC', 'USDC'], fee: 3000 },
  { pair: ['WETH', 'WMATIC'], fee: 3000 },
  { pair: ['WBTC', 'WETH'], fee: 3000 },
  { pair: ['USDT', 'USDC'], fee: 500 },
];
const V3_TICK_SPACING = { 500: 10, 3000: 60, 10000: 200 };

/**
 * V3 positions seeded in each pool, as tick offsets from the current tick (rounded outwards to
 * the tick spacing) and USD value. Narrow ranges make ordinary swaps cross initialized ticks;
 * the one-sided ranges hold a single token.
 */
export const V3_RANGES = [
  { label: 'wide', lo: -12000, hi: 12000, usd: 1_500_000 },
  { label: 'medium', lo: -1200, hi: 1200, usd: 1_000_000 },
  { label: 'narrow', lo: -30, hi: 30, usd: 400_000 },
  { label: 'skewed', lo: -150, hi: 45, usd: 300_000 },
  { label: 'above', lo: 60, hi: 600, usd: 200_000, side: 'above' },
  { label: 'below', lo: -600, hi: -60, usd: 200_000, side: 'below' },
];

const floorTo = (t, s) => Math.floor(t / s) * s;
const ceilTo = (t, s) => Math.ceil(t / s) * s;

function rangeTicks(cur, s, r) {
  let lo;
  let hi;
  if (r.side === 'above') {
    lo = ceilTo(cur + r.lo, s);
    hi = ceilTo(cur + r.hi, s);
  } else if (r.side === 'below') {
    lo = floorTo(cur + r.lo, s);
    hi = floorTo(cur + r.hi, s);
  } else {
    lo = floorTo(cur + r.lo, s);
    hi = ceilTo(cur + r.hi, s);
  }
  if (hi <= lo) hi = lo + s;
  lo = Math.max(lo, ceilTo(MIN_TICK, s));
  hi = Math.min(hi, floorTo(MAX_TICK, s));
  return [lo, hi];
}

// ------------------------------------------------------------------------------ anvil process

/**
 * Starts anvil under a tiny sh watchdog: the watchdog holds our stdin pipe and kills anvil when
 * it reaches EOF, so anvil dies with this node process even on SIGKILL.
 */
async function startAnvil({ host, port, blockTime, log, stateFile = null, load = false }) {
  // --max-persisted-states 0: anvil keeps the last ~500 block states in memory (a Polygon full node
  // keeps 128) and writes none to ~/.foundry/anvil/tmp, which it never cleans up when it is
  // stopped: a day of chain tests left 72 GB there and filled the disk.
  const args = ['--chain-id', String(CHAIN_ID), '--host', host, '--port', String(port), '--mnemonic', ANVIL_MNEMONIC,
    '--accounts', '10', '--balance', '1000000', '--hardfork', 'cancun', '--max-persisted-states', '0'];
  if (stateFile) {
    if (load) args.push('--load-state', stateFile);
    args.push('--dump-state', stateFile);
  }
  const script = 'exec 3<&0; "$0" "$@" </dev/null & p=$!; echo "TORQ_ANVIL_PID $p"; '
    + '(read _x <&3; kill $p 2>/dev/null) & wait $p';
  const child = spawn('sh', ['-c', script, anvilBinary(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let pid = null;
  let url = null;
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil did not start in 20 s; output:\n${out}`)), 20_000);
    const onData = (d) => {
      out += d.toString();
      const m1 = out.match(/TORQ_ANVIL_PID (\d+)/);
      if (m1) pid = Number(m1[1]);
      const m2 = out.match(/Listening on ([0-9.]+):(\d+)/);
      if (m2 && pid !== null) {
        clearTimeout(timer);
        url = { host: m2[1], port: Number(m2[2]) };
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { out += d.toString(); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited early (code ${code}); output:\n${out}`));
    });
  });
  await ready;
  child.removeAllListeners('exit');
  // Keep draining output so anvil never blocks on a full pipe.
  child.stdout.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();
  log(`anvil pid ${pid} on ${url.host}:${url.port}`);
  return { child, pid, ...url, blockTime };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// SIGTERM, then SIGKILL after graceMs. A node stopped for a restart gets a long grace: anvil
// writes its --dump-state file on the way out, which takes seconds on a loaded machine, and a
// SIGKILL in the middle would leave a stale or partial dump.
async function killAnvil(anvil, graceMs = 3000) {
  if (!anvil || anvil.stopped) return;
  anvil.stopped = true;
  const exited = new Promise((res) => {
    if (anvil.child.exitCode !== null || anvil.child.signalCode !== null) res();
    else anvil.child.once('exit', () => res());
  });
  if (alive(anvil.pid)) process.kill(anvil.pid, 'SIGTERM');
  const t = setTimeout(() => {
    if (alive(anvil.pid)) process.kill(anvil.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(t);
  try {
    anvil.child.stdin.end();
  } catch {
    // already closed
  }
  // The wrapper has reaped anvil once it exited; wait out any zombie just in case.
  for (let i = 0; i < 100 && alive(anvil.pid); i++) await new Promise((r) => setTimeout(r, 20));
}

// ------------------------------------------------------------------------------ deployment

async function deployAll({ provider, log }) {
  const compiled = compileContracts({ log });
  const uni = uniswapArtifacts();
  const deployer = new TxSender(walletFor(0, provider));
  await deployer.syncNonce();
  const pending = [];
  const send = async (label, tx) => {
    const r = await deployer.send(tx);
    pending.push({ label, hash: r.hash });
    return r;
  };
  const flush = async () => {
    for (const p of pending.splice(0)) {
      const rc = await waitReceipt(provider, p.hash);
      if (rc.status !== '0x1') throw new Error(`deployment step failed: ${p.label} (${p.hash})`);
    }
  };
  const deploy = async (label, art, args = []) => {
    const f = new ethers.ContractFactory(art.abi, art.bytecode);
    const tx = await f.getDeployTransaction(...args);
    const { nonce } = await send(label, { data: tx.data, gasLimit: 12_000_000n });
    return ethers.getCreateAddress({ from: deployer.address, nonce });
  };

  const deployBlock = await provider.getBlockNumber() + 1;
  // Tokens, helper, factories.
  const tokens = [];
  for (const t of TOKENS) {
    const address = await deploy(`token ${t.symbol}`, compiled.TorqTestToken, [t.name, t.symbol, t.decimals]);
    tokens.push({ symbol: t.symbol, name: t.name, address, decimals: t.decimals, usdPrice: t.usd });
  }
  const bySym = Object.fromEntries(tokens.map((t) => [t.symbol, t]));
  const actor = await deploy('TorqPoolActor', compiled.TorqPoolActor);
  const venues = [];
  for (const v of V2_VENUES) {
    const factory = await deploy(`UniswapV2Factory ${v.name}`, uni.v2Factory, [deployer.address]);
    venues.push({
      name: v.name, kind: 'v2', factory,
      feeRule: { type: 'constant', feeUnit: 'ppm', fee: 3000, formula: 'uniswap-v2 amountIn*997/1000' },
      pairInitCodeHash: ethers.keccak256(uni.v2Pair.bytecode),
    });
  }
  const v3Factory = await deploy('UniswapV3Factory', uni.v3Factory);
  venues.push({
    name: 'uniswap-v3', kind: 'v3', factory: v3Factory,
    feeRule: { type: 'per-pool-fee-tier', feeUnit: 'ppm', tickSpacingByFee: { 500: 10, 3000: 60, 10000: 200 } },
    poolInitCodeHash: ethers.keccak256(uni.v3Pool.bytecode),
  });
  await flush();

  // Balances and approvals (deployer seeds everything through the actor).
  const erc20 = new ethers.Interface(compiled.TorqTestToken.abi);
  const funded = ACCOUNT_ROLES.filter((a) => a.role !== 'spare').map((a) => walletFor(a.anvilIndex, provider).address);
  for (const t of tokens) {
    const amount = BigInt(Math.floor(1e9 / t.usdPrice)) * 10n ** BigInt(t.decimals); // $1e9 each
    for (const who of funded) {
      await send(`mint ${t.symbol}`, { to: t.address, data: erc20.encodeFunctionData('mint', [who, amount]), gasLimit: 200_000n });
    }
    await send(`approve ${t.symbol}`, { to: t.address, data: erc20.encodeFunctionData('approve', [actor, ethers.MaxUint256]), gasLimit: 200_000n });
  }

  // Pools.
  const v2f = new ethers.Interface(uni.v2Factory.abi);
  const v3f = new ethers.Interface(uni.v3Factory.abi);
  const pools = [];
  const sortPair = (a, b) => (BigInt(bySym[a].address) < BigInt(bySym[b].address) ? [a, b] : [b, a]);
  for (const [i, v] of V2_VENUES.entries()) {
    for (const [a, b] of v.pairs) {
      const [s0, s1] = sortPair(a, b);
      const t0 = bySym[s0].address;
      const t1 = bySym[s1].address;
      await send(`createPair ${v.name} ${s0}/${s1}`, { to: venues[i].factory, data: v2f.encodeFunctionData('createPair', [t0, t1]) });
      const address = ethers.getCreate2Address(venues[i].factory, ethers.solidityPackedKeccak256(['address', 'address'], [t0, t1]), venues[i].pairInitCodeHash);
      pools.push({ address, venue: v.name, kind: 'v2', token0: t0, token1: t1, symbol0: s0, symbol1: s1, fee: 3000, tickSpacing: null, tvlUsd: v.tvlUsd });
    }
  }
  const v3Venue = venues.find((v) => v.kind === 'v3');
  for (const p of V3_POOLS) {
    const [s0, s1] = sortPair(...p.pair);
    const t0 = bySym[s0].address;
    const t1 = bySym[s1].address;
    await send(`createPool ${s0}/${s1}/${p.fee}`, { to: v3Factory, data: v3f.encodeFunctionData('createPool', [t0, t1, p.fee]), gasLimit: 8_000_000n });
    const salt = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['address', 'address', 'uint24'], [t0, t1, p.fee]));
    const address = ethers.getCreate2Address(v3Factory, salt, v3Venue.poolInitCodeHash);
    pools.push({ address, venue: v3Venue.name, kind: 'v3', token0: t0, token1: t1, symbol0: s0, symbol1: s1, fee: p.fee, tickSpacing: V3_TICK_SPACING[p.fee] });
  }
  await flush();

  // Check the CREATE2 addresses against the factories, then initialize and seed.
  const v2Read = (addr) => new ethers.Contract(addr, uni.v2Factory.abi, provider);
  const v3Read = new ethers.Contract(v3Factory, uni.v3Factory.abi, provider);
  const actorIf = new ethers.Interface(compiled.TorqPoolActor.abi);
  const poolIf = new ethers.Interface(uni.v3Pool.abi);
  for (const p of pools) {
    const onChain = p.kind === 'v2'
      ? await v2Read(venues.find((v) => v.name === p.venue).factory).getPair(p.token0, p.token1)
      : await v3Read.getPool(p.token0, p.token1, p.fee);
    if (onChain.toLowerCase() !== p.address.toLowerCase()) {
      throw new Error(`pool address mismatch for ${p.venue} ${p.symbol0}/${p.symbol1}: ${onChain} vs ${p.address}`);
    }
    const t0 = bySym[p.symbol0];
    const t1 = bySym[p.symbol1];
    const price = rawPrice(t0.usdPrice, t0.decimals, t1.usdPrice, t1.decimals);
    if (p.kind === 'v2') {
      const half = p.tvlUsd / 2;
      const a0 = BigInt(Math.floor((half / t0.usdPrice) * 10 ** t0.decimals));
      const a1 = BigInt(Math.floor((half / t1.usdPrice) * 10 ** t1.decimals));
      await send(`v2Mint ${p.venue} ${p.symbol0}/${p.symbol1}`, { to: actor, data: actorIf.encodeFunctionData('v2Mint', [p.address, a0, a1]), gasLimit: 500_000n });
      delete p.tvlUsd;
    } else {
      const sqrtPriceX96 = sqrtPriceX96FromRaw(price);
      await send(`initialize ${p.symbol0}/${p.symbol1}/${p.fee}`, { to: p.address, data: poolIf.encodeFunctionData('initialize', [sqrtPriceX96]), gasLimit: 500_000n });
      const cur = tickFromRaw(price);
      const s = Math.sqrt(price);
      p.initialSqrtPriceX96 = sqrtPriceX96.toString();
      p.positions = [];
      for (const r of V3_RANGES) {
        const [tl, tu] = rangeTicks(cur, p.tickSpacing, r);
        const per = amountsForLiquidity(1, s, tl, tu);
        const usdPerL = (per.amount0 * t0.usdPrice) / 10 ** t0.decimals + (per.amount1 * t1.usdPrice) / 10 ** t1.decimals;
        const L = BigInt(Math.floor(r.usd / usdPerL));
        await send(`v3Mint ${p.symbol0}/${p.symbol1}/${p.fee} ${r.label}`, { to: actor, data: actorIf.encodeFunctionData('v3Mint', [p.address, tl, tu, L]), gasLimit: 1_500_000n });
        p.positions.push({ label: r.label, owner: actor, tickLower: tl, tickUpper: tu, liquidity: L.toString() });
      }
    }
  }
  await flush();
  const seededBlock = await provider.getBlockNumber();
  return { tokens, venues, pools, actor, deployBlock, seededBlock };
}

// ------------------------------------------------------------------------------ public API

/**
 * Starts anvil and deploys everything. Options: host ('127.0.0.1'), port (0 = free port),
 * blockTime (0 = mine each transaction at once; N = interval mining every N s after deployment),
 * seed (recorded in the manifest), out (manifest path, optional), keysOut (0600 key file,
 * optional), log (function). Returns { manifest, anvil, provider }.
 */
export async function startFixture(opts = {}) {
  const { host = '127.0.0.1', port = 0, blockTime = 0, seed = 1, out = null, keysOut = null, log = () => {} } = opts;
  const stateFile = opts.stateFile ? path.resolve(opts.stateFile) : null;
  if (stateFile) fs.rmSync(stateFile, { force: true });
  const anvil = await startAnvil({ host, port, blockTime, log, stateFile });
  const fx = { anvil, provider: null, manifest: null, out, stateFile, log };
  try {
    const httpUrl = `http://${anvil.host}:${anvil.port}`;
    const provider = makeProvider(httpUrl);
    fx.provider = provider;
    for (let i = 0; ; i++) {
      try {
        await provider.send('eth_chainId', []);
        break;
      } catch (e) {
        if (i > 200) throw e;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const chainId = Number(await provider.send('eth_chainId', []));
    if (chainId !== CHAIN_ID) throw new Error(`anvil reports chain id ${chainId}, expected ${CHAIN_ID}`);
    const t0 = Date.now();
    const d = await deployAll({ provider, log });
    log(`deployed ${d.tokens.length} tokens, ${d.pools.length} pools in ${Date.now() - t0} ms`);
    if (blockTime > 0) await provider.send('evm_setIntervalMining', [blockTime]);
    const accounts = ACCOUNT_ROLES.map((a) => ({ ...a, address: walletFor(a.anvilIndex, provider).address }));
    let keysFile = null;
    if (keysOut) {
      const keys = {
        note: "anvil's well-known test keys (mnemonic 'test ... junk'); worthless outside this local chain",
        accounts: ACCOUNT_ROLES.map((a) => {
          const w = walletFor(a.anvilIndex, provider);
          return { ...a, address: w.address, privateKey: w.privateKey };
        }),
      };
      fs.writeFileSync(keysOut, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
      fs.chmodSync(keysOut, 0o600);
      keysFile = path.resolve(keysOut);
    }
    fx.manifest = {
      schema: MANIFEST_SCHEMA,
      chainId,
      rpc: { http: httpUrl, ws: `ws://${anvil.host}:${anvil.port}` },
      anvil: { pid: anvil.pid, host: anvil.host, port: anvil.port, blockTime, mining: blockTime > 0 ? 'interval' : 'instant' },
      fixturePid: process.pid,
      seed,
      deployBlock: d.deployBlock,
      seededBlock: d.seededBlock,
      accounts: accounts.map(({ role, anvilIndex, address }) => ({ role, anvilIndex, address })),
      accountsNote: "anvil default mnemonic accounts (m/44'/60'/0'/0/<anvilIndex>); keys only in keysFile",
      keysFile,
      contracts: { poolActor: d.actor },
      tokens: d.tokens,
      venues: d.venues,
      pools: d.pools,
    };
    if (out) {
      const tmp = `${out}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(fx.manifest, null, 2) + '\n');
      fs.renameSync(tmp, out);
    }
    return fx;
  } catch (e) {
    await killAnvil(anvil);
    throw e;
  }
}

export async function stopFixture(fx) {
  if (!fx) return;
  if (fx.provider) fx.provider.destroy();
  await killAnvil(fx.anvil);
}

/** Node restart, first half: SIGTERM to anvil, which dumps its chain to fx.stateFile on exit. */
export async function stopNode(fx) {
  if (!fx.stateFile) throw new Error('stopNode needs a fixture started with stateFile');
  await killAnvil(fx.anvil, 60000);
  if (!fs.existsSync(fx.stateFile)) throw new Error(`anvil left no state dump at ${fx.stateFile}`);
}

/**
 * Node restart, second half: anvil again on the same host and port, loaded from fx.stateFile
 * (same blocks, hashes, receipts and state); interval mining re-applied. Returns the new pid.
 */
export async function startNode(fx) {
  if (!fx.stateFile) throw new Error('startNode needs a fixture started with stateFile');
  const { host, port, blockTime } = fx.anvil;
  fx.anvil = await startAnvil({ host, port, blockTime, log: fx.log || (() => {}), stateFile: fx.stateFile, load: true });
  const provider = makeProvider(`http://${host}:${port}`);
  try {
    for (let i = 0; ; i++) {
      try {
        await provider.send('eth_blockNumber', []);
        break;
      } catch (e) {
        if (i > 200) throw e;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (blockTime > 0) await provider.send('evm_setIntervalMining', [blockTime]);
  } finally {
    provider.destroy();
  }
  if (fx.manifest) {
    fx.manifest.anvil.pid = fx.anvil.pid;
    if (fx.out) {
      const tmp = `${fx.out}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(fx.manifest, null, 2) + '\n');
      fs.renameSync(tmp, fx.out);
    }
  }
  return fx.anvil.pid;
}

// ------------------------------------------------------------------------------ CLI

function parseArgs(argv) {
  const o = { out: null, port: 0, seed: 1, blockTime: 0, host: '127.0.0.1', keysOut: null, stateFile: null, exitWithParent: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') o.out = val();
    else if (a === '--port') o.port = Number(val());
    else if (a === '--seed') o.seed = Number(val());
    else if (a === '--block-time') o.blockTime = Number(val());
    else if (a === '--host') o.host = val();
    else if (a === '--keys-out') o.keysOut = val();
    else if (a === '--state-file') o.stateFile = val();
    else if (a === '--exit-with-parent') o.exitWithParent = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error('--port must be 0..65535');
  if (!(o.blockTime >= 0)) throw new Error('--block-time must be >= 0');
  if (!/^127\.|^localhost$/.test(o.host)) throw new Error('--host must be a loopback address');
  return o;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`fixture: ${e.message}`);
    process.exit(2);
  }
  if (o.help || !o.out) {
    console.error('usage: node chain/fixture.mjs --out manifest.json [--port 0] [--seed N] [--block-time S] [--keys-out FILE] [--state-file FILE] [--exit-with-parent]');
    process.exit(o.help ? 0 : 2);
  }
  if (!o.keysOut) o.keysOut = o.out.replace(/\.json$/, '') + '.keys.json';
  const log = (m) => console.error(`fixture: ${m}`);
  let fx = null;
  let stopping = false;
  const stop = async (sig) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping anvil`);
    await stopFixture(fx);
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (o.exitWithParent) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('parent exited');
    }, 250).unref();
  }
  try {
    fx = await startFixture({ ...o, log });
  } catch (e) {
    console.error(`fixture: ${e.stack || e.message}`);
    process.exit(1);
  }
  const watch = (anvil) => anvil.child.on('exit', () => {
    if (!stopping && !anvil.stopped) {
      log('anvil exited unexpectedly');
      process.exit(1);
    }
  });
  watch(fx.anvil);
  if (o.stateFile) {
    // Node restarts, one at a time, in signal order.
    let chain = Promise.resolve();
    const node = (what) => {
      chain = chain.then(async () => {
        if (stopping) return;
        try {
          if (what === 'stop') {
            if (fx.anvil.stopped) return;
            await stopNode(fx);
            log(`node stopped, state in ${fx.stateFile}`);
            console.log(JSON.stringify({ event: 'node-stopped', stateFile: fx.stateFile }));
          } else {
            if (!fx.anvil.stopped) return;
            await startNode(fx);
            watch(fx.anvil);
            log(`node started again from ${fx.stateFile}, anvil pid ${fx.anvil.pid}`);
            console.log(JSON.stringify({ event: 'node-started', anvilPid: fx.anvil.pid }));
          }
        } catch (e) {
          console.error(`fixture: node ${what}: ${e.stack || e.message}`);
          process.exit(1);
        }
      });
    };
    // While the node is down nothing else holds the event loop: keep the process alive.
    setInterval(() => {}, 1 << 30);
    process.on('SIGUSR1', () => node('stop'));
    process.on('SIGUSR2', () => node('start'));
  }
  console.log(JSON.stringify({ event: 'ready', manifest: path.resolve(o.out), rpc: fx.manifest.rpc, anvilPid: fx.anvil.pid }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
