// Captures real JSON from the local chain fixture (anvil, chain id 137) for the control-plane
// tests: eth_subscription "logs" and "newHeads" notifications exactly as anvil sends them over
// WebSocket, an eth_getLogs result, and removed:true notifications produced by anvil_reorg.
//   node tests/control/tools/capture.mjs <out-dir>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const require = createRequire(path.join(root, 'chain/package.json'));
const WebSocket = require('ws');
const { startFixture, stopFixture } = await import(path.join(root, 'chain/fixture.mjs'));
const { runDriver } = await import(path.join(root, 'chain/driver.mjs'));

const outDir = process.argv[2];
fs.mkdirSync(outDir, { recursive: true });
const fx = await startFixture({ port: 0, blockTime: 0, out: path.join(outDir, 'manifest.tmp.json'), keysOut: null });
const m = fx.manifest;
const rpc = async (method, params) => {
  const r = await fetch(m.rpc.http, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return r.text();
};
const ws = new WebSocket(m.rpc.ws);
const raw = [];
await new Promise((res) => ws.on('open', res));
ws.on('message', (d) => raw.push(d.toString()));
ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_subscribe',
  params: ['logs', { address: m.pools.map((p) => p.address) }] }));
await new Promise((r) => setTimeout(r, 300));
await runDriver({ manifest: m, rate: 40, durationS: 4, seed: 5, emit: () => {} });
await new Promise((r) => setTimeout(r, 300));
const head = JSON.parse(await rpc('eth_blockNumber', [])).result;
const getLogs = await rpc('eth_getLogs', [{ fromBlock: '0x' + (Number(head) - 5).toString(16), toBlock: head,
  address: m.pools.map((p) => p.address) }]);
fs.writeFileSync(path.join(outDir, 'eth_getLogs_result.json'), getLogs);
const initLogs = await rpc('eth_getLogs', [{ fromBlock: '0x' + m.deployBlock.toString(16), toBlock: '0x' + m.seededBlock.toString(16),
  address: m.pools.filter((p) => p.kind === 'v3').map((p) => p.address),
  topics: [['0x98636036cb66a9c19a37435efc1e90142190214e8abeb821bdba3f2990dd4c95']] }]);
fs.writeFileSync(path.join(outDir, 'eth_getLogs_initialize.json'), initLogs);
const before = raw.length;
console.error('reorg', await rpc('anvil_reorg', [2, []]));
await new Promise((r) => setTimeout(r, 500));
fs.writeFileSync(path.join(outDir, 'ws_messages.jsonl'), raw.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'ws_after_reorg.jsonl'), raw.slice(before).join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(m, null, 1));
ws.close();
await stopFixture(fx);
console.error('captured', raw.length, 'messages');
