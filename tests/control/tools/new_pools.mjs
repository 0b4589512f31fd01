// Test helper for test_control_session_discovery: creates pools that the fixture did not
// deploy, while a NodeSession runs, and trades on them.
//   node tests/control/tools/new_pools.mjs --manifest M create   → {"v2":"0x..","v3":"0x.."}
//   node tests/control/tools/new_pools.mjs --manifest M trade --v2 A --v3 B [--n 3]
// create: quickswap createPair(WBTC, USDC) + v2Mint; uniswap-v3 createPool(WETH, USDC, 1%) +
// initialize + v3Mint (wide range). trade: n V2 swaps and n V3 swaps on those pools.
// Account: the deployer (anvil index 0), funded and approved for the actor by the fixture.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const chainDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../chain');
const { ethers } = await import(path.join(chainDir, 'node_modules/ethers/lib.esm/index.js'));
const common = await import(path.join(chainDir, 'lib/common.mjs'));
const { compileContracts } = await import(path.join(chainDir, 'lib/compile.mjs'));

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const manifest = JSON.parse(fs.readFileSync(opt('--manifest'), 'utf8'));
const cmd = args.find((a) => a === 'create' || a === 'trade');
const provider = common.makeProvider(manifest.rpc.http);
const sender = new common.TxSender(common.walletFor(0, provider));
await sender.syncNonce();
const compiled = compileContracts({ log: () => {} });
const uni = common.uniswapArtifacts();
const actorIf = new ethers.Interface(compiled.TorqPoolActor.abi);
const actor = manifest.contracts.poolActor;
const bySym = Object.fromEntries(manifest.tokens.map((t) => [t.symbol, t]));
const venue = (n) => manifest.venues.find((v) => v.name === n);

async function send(label, tx) {
  const { hash } = await sender.send({ gasLimit: 8_000_000n, ...tx });
  const rc = await common.waitReceipt(provider, hash);
  if (rc.status !== '0x1') throw new Error(`${label} failed (${hash})`);
  return rc;
}
const sorted = (a, b) => (BigInt(bySym[a].address) < BigInt(bySym[b].address) ? [a, b] : [b, a]);

if (cmd === 'create') {
  // V2: WBTC/USDC on quickswap (not deployed by the fixture).
  const v2f = new ethers.Interface(uni.v2Factory.abi);
  const [a0, a1] = sorted('WBTC', 'USDC');
  const t0 = bySym[a0], t1 = bySym[a1];
  const qs = venue('quickswap');
  await send('createPair', { to: qs.factory, data: v2f.encodeFunctionData('createPair', [t0.address, t1.address]) });
  const v2 = await new ethers.Contract(qs.factory, uni.v2Factory.abi, provider).getPair(t0.address, t1.address);
  const usd = 1_000_000;
  const amt = (t) => BigInt(Math.floor((usd / t.usdPrice) * 10 ** t.decimals));
  await send('v2Mint', { to: actor, data: actorIf.encodeFunctionData('v2Mint', [v2, amt(t0), amt(t1)]) });

  // V3: WETH/USDC 1% (fee 10000, tick spacing 200).
  const v3f = new ethers.Interface(uni.v3Factory.abi);
  const [b0, b1] = sorted('WETH', 'USDC');
  const u0 = bySym[b0], u1 = bySym[b1];
  const fv = venue('uniswap-v3');
  await send('createPool', { to: fv.factory, data: v3f.encodeFunctionData('createPool', [u0.address, u1.address, 10000]) });
  const v3 = await new ethers.Contract(fv.factory, uni.v3Factory.abi, provider).getPool(u0.address, u1.address, 10000);
  const price = common.rawPrice(u0.usdPrice, u0.decimals, u1.usdPrice, u1.decimals);
  const poolIf = new ethers.Interface(uni.v3Pool.abi);
  await send('initialize', { to: v3, data: poolIf.encodeFunctionData('initialize', [common.sqrtPriceX96FromRaw(price)]) });
  const cur = common.tickFromRaw(price);
  const tl = Math.floor((cur - 6000) / 200) * 200, tu = Math.ceil((cur + 6000) / 200) * 200;
  const per = common.amountsForLiquidity(1, Math.sqrt(price), tl, tu);
  const usdPerL = (per.amount0 * u0.usdPrice) / 10 ** u0.decimals + (per.amount1 * u1.usdPrice) / 10 ** u1.decimals;
  const L = BigInt(Math.floor(usd / usdPerL));
  await send('v3Mint', { to: actor, data: actorIf.encodeFunctionData('v3Mint', [v3, tl, tu, L]) });
  process.stdout.write(JSON.stringify({ v2, v3, block: await provider.getBlockNumber() }) + '\n');
} else if (cmd === 'trade') {
  const v2 = opt('--v2'), v3 = opt('--v3');
  const n = Number(opt('--n', '3'));
  const t0Of = async (a) => {
    const c = new ethers.Contract(a, ['function token0() view returns (address)', 'function token1() view returns (address)'], provider);
    const find = (x) => manifest.tokens.find((t) => t.address.toLowerCase() === x.toLowerCase());
    return [find(await c.token0()), find(await c.token1())];
  };
  const raw = (t, usd) => BigInt(Math.floor((usd / t.usdPrice) * 10 ** t.decimals));
  const [p0, p1] = await t0Of(v2), [q0, q1] = await t0Of(v3);
  for (let i = 0; i < n; i++) {
    const zf = i % 2 === 0;
    await send('v2Swap', { to: actor, data: actorIf.encodeFunctionData('v2Swap', [v2, zf, raw(zf ? p0 : p1, 1000), 1n, sender.address]) });
    const limit = zf ? common.MIN_SQRT_RATIO + 1n : common.MAX_SQRT_RATIO - 1n;
    await send('v3Swap', { to: actor, data: actorIf.encodeFunctionData('v3Swap', [v3, zf, raw(zf ? q0 : q1, 1000), limit, sender.address]) });
  }
  process.stdout.write(JSON.stringify({ traded: n, block: await provider.getBlockNumber() }) + '\n');
} else {
  throw new Error('usage: new_pools.mjs --manifest M create|trade');
}
process.exit(0);
