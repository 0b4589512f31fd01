// Shared harness of the robustness tests (tests/robustness/*.test.mjs): the local chain fixture
// (chain/fixture.mjs, in this process), TorqArbitrage deployed with tests/e2e/chain_tool.mjs, the
// real torqd binary as a black box (spawned with its stdout/stderr in files and a shell watchdog
// that SIGKILLs it if this process dies), the operator API (/metrics, /api/*), torq-audit --json,
// a JSON-RPC helper for checking the chain, and a loopback TCP proxy that can cut the node link.
// Exits 77 (skipped) when chain/node_modules is absent.
//
// Every test is a plain Node script: `node X.test.mjs --torqd PATH --torq-audit PATH --out DIR`.
// Checks are collected (check()); the process exits 1 if any failed, 0 otherwise. Nothing here
// calls outside the loopback interface.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHAIN_TOOL = path.join(ROOT, 'tests', 'e2e', 'chain_tool.mjs');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function skipWithoutChain() {
  if (!fs.existsSync(path.join(ROOT, 'chain', 'node_modules', 'ethers'))) {
    console.log('SKIP: chain/node_modules is absent (run: npm ci --prefix chain)');
    process.exit(77);
  }
}

export function parseArgs(argv = process.argv.slice(2)) {
  const o = { torqd: null, audit: null, out: process.env.TORQ_BINARY_DIR || os.tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i];
    if (argv[i] === '--torqd') o.torqd = v();
    else if (argv[i] === '--torq-audit') o.audit = v();
    else if (argv[i] === '--out') o.out = v();
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.torqd || !fs.existsSync(o.torqd)) throw new Error(`--torqd: no torqd binary at ${o.torqd}`);
  if (!o.audit || !fs.existsSync(o.audit)) throw new Error(`--torq-audit: no torq-audit binary at ${o.audit}`);
  fs.mkdirSync(o.out, { recursive: true });
  return o;
}

// ------------------------------------------------------------------------------ checks

const failures = [];
const t0 = Date.now();
export function log(msg) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
}
export function check(cond, msg) {
  if (cond) {
    log(`ok    ${msg}`);
  } else {
    log(`FAIL  ${msg}`);
    failures.push(msg);
  }
  return !!cond;
}
export function failed() {
  return failures.length;
}

// ------------------------------------------------------------------------------ JSON-RPC

let rpcId = 1;
export async function rpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method, params }),
  });
  const j = await res.json();
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}
export const hexToNum = (h) => Number(BigInt(h));

// Every transaction the account sent in blocks [from, latest]: {hash, nonce, block, status}.
export async function accountTxs(url, address, from) {
  const latest = hexToNum(await rpc(url, 'eth_blockNumber'));
  const a = address.toLowerCase();
  const out = [];
  for (let b = from; b <= latest; b++) {
    const blk = await rpc(url, 'eth_getBlockByNumber', ['0x' + b.toString(16), true]);
    for (const tx of blk.transactions) {
      if (tx.from.toLowerCase() !== a) continue;
      const rc = await rpc(url, 'eth_getTransactionReceipt', [tx.hash]);
      out.push({ hash: tx.hash.toLowerCase(), nonce: hexToNum(tx.nonce), block: b, status: hexToNum(rc.status) });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ chain

export class Chain {
  static async start(dir, { blockTime = 0 } = {}) {
    const { startFixture } = await import(path.join(ROOT, 'chain', 'fixture.mjs'));
    const c = new Chain();
    c.dir = dir;
    c.manifestPath = path.join(dir, 'manifest.json');
    c.fx = await startFixture({ port: 0, blockTime, out: c.manifestPath, keysOut: path.join(dir, 'manifest.keys.json') });
    c.manifest = c.fx.manifest;
    c.http = c.manifest.rpc.http;
    c.executor = c.manifest.accounts.find((a) => a.role === 'executor').address;
    return c;
  }
  async stop() {
    const { stopFixture } = await import(path.join(ROOT, 'chain', 'fixture.mjs'));
    await stopFixture(this.fx);
  }
  // TorqArbitrage from the executor account; its key in a 0600 file.
  deploy() {
    this.keyFile = path.join(this.dir, 'executor.key');
    const r = runTool(['deploy', '--manifest', this.manifestPath, '--key-out', this.keyFile]);
    this.contract = r.contract;
    this.deployBlock = Number(r.block);
    return r;
  }
  // A dislocating swap through the fixture's pool actor (deployer account); resolves to its JSON.
  swap(venue, pair, sell, amount) {
    return runToolAsync(['swap', '--manifest', this.manifestPath, '--venue', venue, '--pair', pair, '--sell', sell, '--amount', String(amount)]);
  }
  async blockNumber() {
    return hexToNum(await rpc(this.http, 'eth_blockNumber'));
  }
  async nonce(tag) {
    return hexToNum(await rpc(this.http, 'eth_getTransactionCount', [this.executor, tag]));
  }
}

function runTool(args) {
  const r = spawnSync('node', [CHAIN_TOOL, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chain_tool ${args[0]} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
function runToolAsync(args) {
  return new Promise((resolve, reject) => {
    const p = spawn('node', [CHAIN_TOOL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    // 'close', not 'exit': 'exit' can come before the last stdout chunk has been read.
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`chain_tool ${args[0]}: ${err}`))));
  });
}

// Dislocations that alternate direction so that prices do not drift away for good: sell WETH on
// one V2 venue, then buy it back (sell USDC) on the same venue, and so on.
export const DISLOCATIONS = [
  ['quickswap', 'WETH/USDC', 'WETH', 15],
  ['quickswap', 'WETH/USDC', 'USDC', 45000],
  ['sushiswap', 'WETH/USDC', 'WETH', 8],
  ['sushiswap', 'WETH/USDC', 'USDC', 24000],
  ['quickswap', 'WMATIC/USDC', 'WMATIC', 60000],
  ['quickswap', 'WMATIC/USDC', 'USDC', 30000],
];

// ------------------------------------------------------------------------------ torqd

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      process.kill(c, 'SIGKILL');
    } catch {}
  }
});

// Config for torqd: config/local.toml's settings, the given manifest, an ephemeral API port.
export function writeConfig(dir, manifestPath, extra = {}) {
  const token = path.join(dir, 'api.token');
  fs.writeFileSync(token, Buffer.from(Array.from({ length: 24 }, () => Math.floor(Math.random() * 256))).toString('hex') + '\n', { mode: 0o600 });
  fs.chmodSync(token, 0o600);
  const cfg = path.join(dir, 'torqd.toml');
  const inflight = extra.maxInFlight ?? 4;
  const breaker = extra.breakerReverts ?? 5;
  fs.writeFileSync(cfg, `# written by tests/robustness/lib.mjs
include_manifest = "${manifestPath}"
[chain]
name = "local"
chain_id = 137
[strategy]
min_profit_usd = "0.01"
gas_units_2hop = 260000
gas_units_3hop = 380000
priority_fee_gwei = 30
[risk]
max_notional_usd = "20000"
max_in_flight = ${inflight}
daily_loss_usd = "1000"
max_drawdown_usd = "2000"
breaker_reverts = ${breaker}
breaker_cooldown_s = 30
stale_blocks = 2
max_gas_price_gwei = 1000
[key]
manifest_role = "executor"
[api]
bind = "127.0.0.1"
port = 0
token_file = "${token}"
audit_file = "${path.join(dir, 'operator-audit.jsonl')}"
[metrics]
snapshot_interval_ms = 250
`);
  return { config: cfg, tokenFile: token, token: fs.readFileSync(token, 'utf8').trim() };
}

export class Torqd {
  // Spawns torqd; stdout/stderr go to <dir>/<name>.out/.err. A watchdog shell SIGKILLs it when
  // this process goes away without stopping it (e.g. a ctest timeout).
  constructor(bin, dir, name, args) {
    this.name = name;
    this.outFile = path.join(dir, `${name}.out`);
    this.errFile = path.join(dir, `${name}.err`);
    const out = fs.openSync(this.outFile, 'w');
    const err = fs.openSync(this.errFile, 'w');
    this.proc = spawn(bin, args, { stdio: ['ignore', out, err] });
    fs.closeSync(out);
    fs.closeSync(err);
    this.pid = this.proc.pid;
    children.add(this.pid);
    this.exit = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
    this.exited = null;
    this.exit.then((e) => {
      this.exited = e;
      children.delete(this.pid);
      if (this.watchdog) this.watchdog.kill('SIGKILL');
    });
    this.watchdog = spawn('sh', ['-c', `read _; kill -9 ${this.pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.watchdog.unref();
  }
  stdout() {
    return fs.readFileSync(this.outFile, 'utf8');
  }
  stderr() {
    return fs.readFileSync(this.errFile, 'utf8');
  }
  async ready(limitMs = 60000) {
    const end = Date.now() + limitMs;
    while (Date.now() < end) {
      if (this.exited) throw new Error(`${this.name} exited during start-up (${JSON.stringify(this.exited)}): ${this.stderr()}`);
      if (this.stdout().includes('"event":"ready"')) {
        const m = /operator API on port (\d+)/.exec(this.stderr());
        this.port = m ? Number(m[1]) : null;
        return this;
      }
      await sleep(50);
    }
    throw new Error(`${this.name} not ready after ${limitMs} ms: ${this.stderr()}`);
  }
  kill(sig) {
    process.kill(this.pid, sig);
  }
  async stop(limitMs = 45000) {
    if (!this.exited) this.kill('SIGTERM');
    const r = await Promise.race([this.exit, sleep(limitMs).then(() => null)]);
    if (!r) {
      this.kill('SIGKILL');
      await this.exit;
      return { code: null, sig: 'timeout', summary: null };
    }
    const line = this.stdout().split('\n').find((l) => l.includes('"event":"summary"'));
    return { ...r, summary: line ? JSON.parse(line) : null };
  }
  rssKiB() {
    const s = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    return m ? Number(m[1]) : null;
  }
}

// ------------------------------------------------------------------------------ operator API

export async function apiGet(port, token, route) {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET ${route}: HTTP ${res.status}`);
  return route === '/metrics' ? res.text() : res.json();
}

// Prometheus text → {name: value} for unlabelled samples, {'name{labels}': value} otherwise.
export function parseMetrics(text) {
  const m = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return m;
}
// Sum of every sample of one family (all label sets).
export function metricSum(m, family) {
  let s = 0;
  for (const [k, v] of Object.entries(m)) if (k === family || k.startsWith(family + '{')) s += v;
  return s;
}

// ------------------------------------------------------------------------------ audit log

// torq-audit --json FILE → {rc, doc} (doc null if the output is not JSON).
export function readAudit(tool, file) {
  const r = spawnSync(tool, ['--json', file], { encoding: 'utf8', maxBuffer: 512 << 20 });
  let doc = null;
  try {
    doc = JSON.parse(r.stdout);
  } catch {}
  return { rc: r.status, doc, stderr: r.stderr };
}
export const recordsOf = (doc, type) => (doc ? doc.records.filter((r) => r.type === type) : []);

// ------------------------------------------------------------------------------ TCP proxy

// Loopback TCP proxy in front of the node. cut() closes every open connection and resets new
// ones until restore(): to torqd the node looks down (WebSocket and HTTP alike).
export class CutProxy {
  static async start(targetPort) {
    const p = new CutProxy();
    p.cutting = false;
    p.sockets = new Set();
    p.accepted = 0;
    p.refused = 0;
    p.server = net.createServer((client) => {
      if (p.cutting) {
        p.refused++;
        client.resetAndDestroy();
        return;
      }
      p.accepted++;
      const upstream = net.connect(targetPort, '127.0.0.1');
      const pair = [client, upstream];
      for (const s of pair) {
        p.sockets.add(s);
        s.on('error', () => pair.forEach((x) => x.destroy()));
        s.on('close', () => {
          p.sockets.delete(s);
          pair.forEach((x) => x.destroy());
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((r) => p.server.listen(0, '127.0.0.1', r));
    p.port = p.server.address().port;
    return p;
  }
  cut() {
    this.cutting = true;
    for (const s of this.sockets) s.resetAndDestroy ? s.resetAndDestroy() : s.destroy();
  }
  restore() {
    this.cutting = false;
  }
  close() {
    this.cut();
    this.server.close();
  }
}

export function writeJson(file, obj) {
  fs.writeFileSync(file, JSON.stringify(obj, null, 2) + '\n');
  log(`wrote ${file}`);
}

export function tmpDir(name) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `torq-${name}-`));
  fs.chmodSync(d, 0o700);
  return d;
}
