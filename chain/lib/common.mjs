// Shared pieces of the local-chain tools: paths, the anvil binary, a provider that never calls
// anything but the local node, deterministic accounts, a seeded RNG, a nonce-tracking
// transaction sender with explicit EIP-1559 fees, Uniswap artifacts and price math.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';

const require = createRequire(import.meta.url);

export const CHAIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHAIN_ID = 137;

/** Anvil's well-known default test mnemonic (public; these keys hold nothing anywhere). */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

/** Roles of the first anvil accounts. */
export const ACCOUNT_ROLES = [
  { role: 'deployer', anvilIndex: 0 },
  { role: 'driver', anvilIndex: 1 },
  { role: 'executor', anvilIndex: 2 },
  { role: 'spare', anvilIndex: 3 },
];

/**
 * Explicit EIP-1559 fees: nothing ever asks a gas station or the node for a fee estimate.
 * The priority fee respects Bor's 25 gwei floor on chain 137.
 */
export const FEES = {
  maxFeePerGas: ethers.parseUnits('300', 'gwei'),
  maxPriorityFeePerGas: ethers.parseUnits('30', 'gwei'),
};

/** Path of the anvil executable shipped by @foundry-rs/anvil's platform package. */
export function anvilBinary() {
  const platformPkg = {
    'linux-x64': '@foundry-rs/anvil-linux-amd64',
    'linux-arm64': '@foundry-rs/anvil-linux-arm64',
    'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
    'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  }[`${process.platform}-${process.arch}`];
  if (!platformPkg) throw new Error(`anvil: unsupported platform ${process.platform}-${process.arch}`);
  const pkgJson = require.resolve(`${platformPkg}/package.json`);
  const bin = path.join(path.dirname(pkgJson), 'bin', 'anvil');
  if (!fs.existsSync(bin)) throw new Error(`anvil binary missing at ${bin} (run npm ci --prefix chain)`);
  return bin;
}

/**
 * A JSON-RPC provider pinned to chain 137 as a static, plugin-free network: ethers never probes
 * the chain id and never attaches the Polygon gas-station plugin that Network.from(137) carries.
 */
export function makeProvider(url) {
  const network = new ethers.Network('torq-local', CHAIN_ID);
  const provider = new ethers.JsonRpcProvider(url, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    cacheTimeout: -1,
    pollingInterval: 50,
  });
  return provider;
}

export function walletFor(anvilIndex, provider) {
  const mn = ethers.Mnemonic.fromPhrase(ANVIL_MNEMONIC);
  return ethers.HDNodeWallet.fromMnemonic(mn, `m/44'/60'/0'/0/${anvilIndex}`).connect(provider);
}

/** Small deterministic PRNG (mulberry32) so runs are reproducible from --seed. */
export class Rng {
  constructor(seed) {
    this.s = (Number(seed) >>> 0) || 0x9e3779b9;
  }
  next() {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(a, b) {
    return a + (b - a) * this.next();
  }
  int(a, b) {
    return a + Math.floor(this.next() * (b - a + 1));
  }
  pick(arr) {
    return arr[Math.floor(this.next() * arr.length)];
  }
  chance(p) {
    return this.next() < p;
  }
}

/**
 * Sends transactions from one wallet with a locally tracked nonce and explicit fees and gas
 * limit (no estimation, no fee lookup). A transaction that reverts on chain still consumes its
 * nonce; a transaction the node refuses does not, so the nonce is re-read from the node.
 */
export class TxSender {
  constructor(wallet, { gasLimit = 3_000_000n } = {}) {
    this.wallet = wallet;
    this.provider = wallet.provider;
    this.gasLimit = gasLimit;
    this.nonce = null;
  }
  get address() {
    return this.wallet.address;
  }
  async syncNonce() {
    this.nonce = await this.provider.getTransactionCount(this.wallet.address, 'pending');
    return this.nonce;
  }
  /** Signs and broadcasts; returns { hash, nonce }. */
  async send({ to = null, data = '0x', value = 0n, gasLimit }) {
    if (this.nonce === null) await this.syncNonce();
    const nonce = this.nonce;
    const tx = {
      type: 2,
      chainId: CHAIN_ID,
      to,
      data,
      value,
      nonce,
      gasLimit: gasLimit ?? this.gasLimit,
      ...FEES,
    };
    const signed = await this.wallet.signTransaction(tx);
    try {
      const hash = await this.provider.send('eth_sendRawTransaction', [signed]);
      this.nonce = nonce + 1;
      return { hash, nonce };
    } catch (err) {
      await this.syncNonce();
      throw err;
    }
  }
}

/**
 * Polls for a receipt (fast on an instant-mining node). Throws on timeout. The default is long
 * (120 s) on purpose: a fixture deploying its contracts on a starved 2-vCPU machine running
 * other chain tests has been seen to wait over 30 s for one receipt.
 */
export async function waitReceipt(provider, hash, { timeoutMs = 120_000, pollMs = 10 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await provider.send('eth_getTransactionReceipt', [hash]);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

/** Uniswap artifacts straight from the npm packages' build outputs. */
export function uniswapArtifacts() {
  const v2Factory = require('@uniswap/v2-core/build/UniswapV2Factory.json');
  const v2Pair = require('@uniswap/v2-core/build/UniswapV2Pair.json');
  const v3Factory = require('@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json');
  const v3Pool = require('@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json');
  const hex = (b) => (b.startsWith('0x') ? b : '0x' + b);
  return {
    v2Factory: { abi: v2Factory.abi, bytecode: hex(v2Factory.bytecode ?? v2Factory.evm.bytecode.object) },
    v2Pair: { abi: v2Pair.abi, bytecode: hex(v2Pair.bytecode ?? v2Pair.evm.bytecode.object) },
    v3Factory: { abi: v3Factory.abi, bytecode: hex(v3Factory.bytecode) },
    v3Pool: { abi: v3Pool.abi, bytecode: hex(v3Pool.bytecode) },
  };
}

// ------------------------------------------------------------------------------ price math
export const Q96 = 2n ** 96n;
export const MIN_TICK = -887272;
export const MAX_TICK = 887272;
export const MIN_SQRT_RATIO = 4295128739n;
export const MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342n;

/** Raw price of token0 in token1 units (both in smallest units) from USD prices. */
export function rawPrice(usd0, dec0, usd1, dec1) {
  return (usd0 / 10 ** dec0) / (usd1 / 10 ** dec1);
}

/** sqrtPriceX96 as BigInt from a raw float price (about 1e-15 relative precision). */
export function sqrtPriceX96FromRaw(price) {
  const s = Math.sqrt(price);
  // Split to keep precision for very small or very large prices.
  const exp = Math.floor(Math.log2(s));
  const mant = s / 2 ** exp; // in [1, 2)
  const mantBig = BigInt(Math.round(mant * 2 ** 52));
  const shift = 96 + exp - 52;
  return shift >= 0 ? mantBig << BigInt(shift) : mantBig >> BigInt(-shift);
}

export function rawFromSqrtPriceX96(sqrtPriceX96) {
  const s = Number(sqrtPriceX96) / 2 ** 96;
  return s * s;
}

export function tickFromRaw(price) {
  return Math.floor(Math.log(price) / Math.log(1.0001));
}

export function sqrtAtTick(tick) {
  return Math.sqrt(1.0001 ** tick);
}

/**
 * Token amounts (raw floats) for liquidity L on [tl, tu] at raw sqrt price s (float):
 * the usual V3 formulas with the price clamped into the range.
 */
export function amountsForLiquidity(L, s, tl, tu) {
  const sl = sqrtAtTick(tl);
  const su = sqrtAtTick(tu);
  const sp = Math.min(Math.max(s, sl), su);
  return { amount0: L * (1 / sp - 1 / su), amount1: L * (sp - sl) };
}

export const ERC20_ABI = [
  'function balanceOf(address) view returns (uint256)',
  'function allowance(address,address) view returns (uint256)',
  'function approve(address,uint256) returns (bool)',
  'function mint(address,uint256)',
  'function decimals() view returns (uint8)',
  'function symbol() view returns (string)',
];
