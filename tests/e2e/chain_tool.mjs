#!/usr/bin/env node
// Helper for the torqd end-to-end test (tests/e2e/torqd_e2e_test.cpp), against the local chain
// fixture (chain/fixture.mjs). One JSON line on stdout per command; exit 1 with a message on error.
//
//   deploy    --manifest M --key-out K   deploy TorqArbitrage (checked-in artifact) from the
//                                        manifest's "executor" account (the owner) and write that
//                                        account's key to K (mode 0600, 64 hex digits)
//   swap      --manifest M --venue V --pair A/B --sell A --amount X
//                                        sell X whole units of A on venue V's A/B pool through the
//                                        fixture's pool actor (deployer account): a dislocation
//             [--no-wait 1]              do not wait for the receipt (automining off): {tx, pool}
//   balance   --manifest M --token SYM --who ADDRESS
//   receipt   --manifest M --tx HASH     {status, blockNumber, gasUsed, to, from}
//
// Exits 77 when chain/node_modules is absent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!fs.existsSync(path.join(ROOT, 'chain', 'node_modules', 'ethers'))) {
  console.log('SKIP: chain/node_modules is absent (run: npm ci --prefix chain)');
  process.exit(77);
}
const { ethers } = await import(path.join(ROOT, 'chain', 'node_modules', 'ethers', 'lib.esm', 'index.js'));
const { TxSender, waitReceipt, walletFor, makeProvider, ERC20_ABI } = await import(path.join(ROOT, 'chain', 'lib', 'common.mjs'));

function args() {
  const out = { _: process.argv[2] };
  for (let i = 3; i < process.argv.length; i += 2) out[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  return out;
}

const a = args();
const manifest = JSON.parse(fs.readFileSync(a.manifest, 'utf8'));
const provider = makeProvider(manifest.rpc.http);
const role = (r) => manifest.accounts.find((x) => x.role === r);
const token = (sym) => {
  const t = manifest.tokens.find((x) => x.symbol === sym);
  if (!t) throw new Error(`no token ${sym}`);
  return t;
};

async function main() {
  if (a._ === 'deploy') {
    const artifact = JSON.parse(fs.readFileSync(path.join(ROOT, 'strategy', 'contracts', 'out', 'TorqArbitrage.json'), 'utf8'));
    const owner = new TxSender(walletFor(role('executor').anvilIndex, provider));
    const { hash } = await owner.send({ to: null, data: artifact.bytecode, gasLimit: 3_000_000n });
    const rc = await waitReceipt(provider, hash);
    if (Number(rc.status) !== 1) throw new Error('deployment reverted');
    const keys = JSON.parse(fs.readFileSync(manifest.keysFile, 'utf8'));
    const k = keys.accounts.find((x) => x.role === 'executor').privateKey.replace(/^0x/, '');
    fs.writeFileSync(a['key-out'], k + '\n', { mode: 0o600 });
    fs.chmodSync(a['key-out'], 0o600);
    console.log(JSON.stringify({ contract: ethers.getAddress(rc.contractAddress), owner: owner.address, block: rc.blockNumber }));
  } else if (a._ === 'swap') {
    const [s0, s1] = a.pair.split('/');
    const t0 = token(s0).address.toLowerCase();
    const t1 = token(s1).address.toLowerCase();
    const p = manifest.pools.find((q) => q.venue === a.venue && q.kind === 'v2'
      && ((q.token0.toLowerCase() === t0 && q.token1.toLowerCase() === t1) || (q.token0.toLowerCase() === t1 && q.token1.toLowerCase() === t0)));
    if (!p) throw new Error(`no V2 pool ${a.pair} on ${a.venue}`);
    const sell = token(a.sell);
    const zf = p.token0.toLowerCase() === sell.address.toLowerCase();
    const amount = ethers.parseUnits(a.amount, sell.decimals);
    const actorIf = new ethers.Interface(['function v2Swap(address,bool,uint256,uint256,address) returns (uint256)']);
    const deployer = new TxSender(walletFor(role('deployer').anvilIndex, provider));
    const { hash } = await deployer.send({
      to: manifest.contracts.poolActor,
      data: actorIf.encodeFunctionData('v2Swap', [p.address, zf, amount, 0n, deployer.address]),
      gasLimit: 500_000n,
    });
    if (a['no-wait']) {
      console.log(JSON.stringify({ tx: hash, pool: p.address }));
      return;
    }
    const rc = await waitReceipt(provider, hash);
    console.log(JSON.stringify({ tx: hash, status: Number(rc.status), block: rc.blockNumber, pool: p.address }));
  } else if (a._ === 'balance') {
    const erc20If = new ethers.Interface(ERC20_ABI);
    const r = await provider.call({ to: token(a.token).address, data: erc20If.encodeFunctionData('balanceOf', [a.who]) });
    console.log(JSON.stringify({ token: a.token, who: a.who, balance: erc20If.decodeFunctionResult('balanceOf', r)[0].toString() }));
  } else if (a._ === 'receipt') {
    const rc = await provider.getTransactionReceipt(a.tx);
    console.log(JSON.stringify(rc ? { status: Number(rc.status), blockNumber: rc.blockNumber, gasUsed: rc.gasUsed.toString(), to: rc.to, from: rc.from } : null));
  } else {
    throw new Error(`unknown command ${a._}`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(`chain_tool: ${e.message}`);
  process.exit(1);
});
