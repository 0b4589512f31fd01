#!/usr/bin/env node
// Integration test of the local chain: fixture (anvil, chain id 137, Uniswap V2/V3 deployments,
// seeded liquidity), market-activity driver (events on every pool kind, price dislocations) and
// teardown (no anvil left behind, also when the fixture process is killed).
// Exits 77 (skip) when chain/node_modules is absent (npm ci --prefix chain not run).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHAIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!fs.existsSync(path.join(CHAIN_DIR, 'node_modules', 'ethers'))) {
  console.log('SKIP: chain/node_modules is absent (run: npm ci --prefix chain)');
  process.exit(77);
}

const { test } = await import('node:test');
const assert = (await import('node:assert/strict')).default;
const { ethers } = await import('ethers');
const { startFixture, stopFixture } = await import('../fixture.mjs');
const { uniswapArtifacts, makeProvider } = await import('../lib/common.mjs');

const uni = uniswapArtifacts();
const v2PairIf = new ethers.Interface(uni.v2Pair.abi);
const v3PoolIf = new ethers.Interface(uni.v3Pool.abi);
const TOPIC = {
  v2: Object.fromEntries(['Sync', 'Swap', 'Mint', 'Burn'].map((e) => [v2PairIf.getEvent(e).topicHash, e])),
  v3: Object.fromEntries(['Swap', 'Mint', 'Burn'].map((e) => [v3PoolIf.getEvent(e).topicHash, e])),
};

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid, ms = 5000) {
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

function portRefuses(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

/** Human price of token0 in token1 for every pool, at a block tag. */
async function poolPrices(provider, manifest, blockTag = 'latest') {
  const dec = Object.fromEntries(manifest.tokens.map((t) => [t.address, t.decimals]));
  const out = [];
  for (const p of manifest.pools) {
    let raw;
    if (p.kind === 'v2') {
      const c = new ethers.Contract(p.address, uni.v2Pair.abi, provider);
      const [r0, r1] = await c.getReserves({ blockTag });
      raw = Number(r1) / Number(r0);
    } else {
      const c = new ethers.Contract(p.address, uni.v3Pool.abi, provider);
      const s0 = await c.slot0({ blockTag });
      raw = (Number(s0.sqrtPriceX96) / 2 ** 96) ** 2;
    }
    out.push({ p, price: raw * 10 ** (dec[p.token0] - dec[p.token1]) });
  }
  return out;
}

/** Largest spread (bps) between pools that quote the same pair. */
function maxSpreadBps(prices) {
  const byPair = new Map();
  for (const { p, price } of prices) {
    const k = `${p.symbol0}/${p.symbol1}`;
    if (!byPair.has(k)) byPair.set(k, []);
    byPair.get(k).push(price);
  }
  let worst = { pair: null, bps: 0 };
  for (const [pair, ps] of byPair) {
    if (ps.length < 2) continue;
    const bps = (Math.max(...ps) / Math.min(...ps) - 1) * 1e4;
    if (bps > worst.bps) worst = { pair, bps };
  }
  return worst;
}

function runDriverCli(manifestPath, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(CHAIN_DIR, 'driver.mjs'), '--manifest', manifestPath, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), err }));
  });
}

test('ShouldDeployPoolsAndProduceDislocationsWhenDriverRuns', { timeout: 90_000 }, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torq-chain-'));
  const manifestPath = path.join(tmp, 'manifest.json');
  const keysPath = path.join(tmp, 'manifest.keys.json');
  const fx = await startFixture({ port: 0, out: manifestPath, keysOut: keysPath });
  const { manifest } = fx;
  const anvilPid = manifest.anvil.pid;
  const provider = makeProvider(manifest.rpc.http);
  try {
    // Chain, manifest, key file.
    assert.equal(await provider.send('eth_chainId', []), '0x89');
    assert.equal(manifest.chainId, 137);
    assert.ok(alive(anvilPid), 'anvil pid from the manifest is running');
    assert.deepEqual(JSON.parse(fs.readFileSync(manifestPath, 'utf8')).pools.length, manifest.pools.length);
    assert.equal(fs.statSync(keysPath).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(manifestPath, 'utf8').includes('privateKey'), 'manifest carries no keys');
    const decimals = new Set(manifest.tokens.map((t) => t.decimals));
    assert.ok(decimals.has(6) && decimals.has(18), 'tokens with 6 and 18 decimals');
    for (const t of manifest.tokens) {
      const c = new ethers.Contract(t.address, ['function decimals() view returns (uint8)', 'function symbol() view returns (string)'], provider);
      assert.equal(Number(await c.decimals()), t.decimals, `${t.symbol} decimals on chain`);
      assert.equal(await c.symbol(), t.symbol);
    }
    const v2Venues = manifest.venues.filter((v) => v.kind === 'v2');
    assert.deepEqual(v2Venues.map((v) => v.name).sort(), ['quickswap', 'sushiswap']);
    assert.notEqual(v2Venues[0].factory, v2Venues[1].factory);
    const v3Venue = manifest.venues.find((v) => v.kind === 'v3');
    assert.ok(v3Venue);

    // Every pool exists on chain with the right tokens and nonzero reserves / liquidity.
    for (const p of manifest.pools) {
      const code = await provider.getCode(p.address);
      assert.ok(code.length > 2, `code at ${p.venue} ${p.symbol0}/${p.symbol1}`);
      const venue = manifest.venues.find((v) => v.name === p.venue);
      if (p.kind === 'v2') {
        const c = new ethers.Contract(p.address, uni.v2Pair.abi, provider);
        assert.equal(await c.token0(), p.token0);
        assert.equal(await c.token1(), p.token1);
        assert.equal(await c.factory(), venue.factory);
        const [r0, r1] = await c.getReserves();
        assert.ok(r0 > 0n && r1 > 0n, `reserves of ${p.venue} ${p.symbol0}/${p.symbol1}`);
        const f = new ethers.Contract(venue.factory, uni.v2Factory.abi, provider);
        assert.equal(await f.getPair(p.token0, p.token1), p.address);
      } else {
        const c = new ethers.Contract(p.address, uni.v3Pool.abi, provider);
        assert.equal(await c.token0(), p.token0);
        assert.equal(await c.token1(), p.token1);
        assert.equal(Number(await c.fee()), p.fee);
        assert.equal(Number(await c.tickSpacing()), p.tickSpacing);
        assert.ok((await c.liquidity()) > 0n, `active liquidity of ${p.symbol0}/${p.symbol1}/${p.fee}`);
        const f = new ethers.Contract(venue.factory, uni.v3Factory.abi, provider);
        assert.equal(await f.getPool(p.token0, p.token1, p.fee), p.address);
        // Initialized ticks in several distinct ranges, incl. narrow ones around the price.
        const ranges = new Set();
        for (const pos of p.positions) {
          for (const tick of [pos.tickLower, pos.tickUpper]) {
            const t = await c.ticks(tick);
            assert.ok(t.initialized && t.liquidityGross > 0n, `tick ${tick} initialized in ${p.symbol0}/${p.symbol1}/${p.fee}`);
          }
          ranges.add(`${pos.tickLower}:${pos.tickUpper}`);
        }
        assert.ok(ranges.size >= 4, 'V3 liquidity in several tick ranges');
        const { tick } = await c.slot0();
        assert.ok(p.positions.some((q) => q.tickUpper - q.tickLower <= Math.max(4 * p.tickSpacing, 100) && q.tickLower <= tick && tick < q.tickUpper),
          'a narrow range holds the current price');
      }
    }
    const kinds = new Set(manifest.pools.map((p) => p.kind));
    assert.ok(kinds.has('v2') && kinds.has('v3'));

    // Prices are consistent across venues before any activity.
    const before = maxSpreadBps(await poolPrices(provider, manifest));
    assert.ok(before.bps < 1, `initial prices consistent (worst ${before.pair} ${before.bps} bps)`);

    // Driver: a few seconds of activity.
    const fromBlock = (await provider.getBlockNumber()) + 1;
    // 100 actions at 25/s (about 4 s); the 30 s bound only matters on a very loaded machine.
    const drv = await runDriverCli(manifestPath, ['--rate', '25', '--max-actions', '100', '--duration-s', '30', '--seed', '7']);
    assert.equal(drv.code, 0, drv.err);
    const summary = drv.lines.find((l) => l.event === 'summary');
    assert.ok(summary && summary.ok >= 60, `driver actions succeeded: ${JSON.stringify(summary)}`);
    assert.equal(summary.error, 0, drv.lines.filter((l) => l.status === 'error').map((l) => l.error).join('\n'));
    const toBlock = await provider.getBlockNumber();

    const logs = await provider.send('eth_getLogs', [{
      fromBlock: ethers.toQuantity(fromBlock), toBlock: ethers.toQuantity(toBlock),
      address: manifest.pools.map((p) => p.address),
    }]);
    const kindOf = Object.fromEntries(manifest.pools.map((p) => [p.address.toLowerCase(), p.kind]));
    const seen = { v2: new Set(), v3: new Set() };
    for (const l of logs) {
      const k = kindOf[l.address.toLowerCase()];
      const name = TOPIC[k][l.topics[0]];
      if (name) seen[k].add(name);
    }
    assert.deepEqual([...seen.v2].sort(), ['Burn', 'Mint', 'Swap', 'Sync'], 'V2 events');
    assert.deepEqual([...seen.v3].sort(), ['Burn', 'Mint', 'Swap'], 'V3 events');

    // Some V3 swap crossed an initialized tick (a seeded or driver-minted position boundary).
    let crossed = false;
    for (const p of manifest.pools.filter((q) => q.kind === 'v3')) {
      const bounds = new Set(p.positions.flatMap((q) => [q.tickLower, q.tickUpper]));
      const c = new ethers.Contract(p.address, uni.v3Pool.abi, provider);
      let prev = Number((await c.slot0({ blockTag: fromBlock - 1 })).tick);
      for (const l of logs.filter((x) => x.address.toLowerCase() === p.address.toLowerCase())) {
        const ev = v3PoolIf.parseLog(l);
        if (ev.name === 'Mint') {
          bounds.add(Number(ev.args.tickLower));
          bounds.add(Number(ev.args.tickUpper));
        } else if (ev.name === 'Swap') {
          const now = Number(ev.args.tick);
          const lo = Math.min(prev, now);
          const hi = Math.max(prev, now);
          if ([...bounds].some((b) => b > lo && b <= hi)) crossed = true;
          prev = now;
        }
      }
    }
    assert.ok(crossed, 'a V3 swap crossed an initialized tick');

    // Dislocations between venues.
    const after = maxSpreadBps(await poolPrices(provider, manifest));
    assert.ok(after.bps > 5, `prices diverged between venues (worst ${after.pair} ${after.bps.toFixed(1)} bps)`);
    t.diagnostic(`driver ${JSON.stringify(summary)}; worst spread ${after.pair} ${after.bps.toFixed(1)} bps`);
  } finally {
    provider.destroy();
    await stopFixture(fx);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  assert.ok(await waitGone(anvilPid), 'anvil process gone after stopFixture');
  assert.ok(await portRefuses(manifest.anvil.port), 'anvil port closed');
});

/** Starts the fixture CLI and resolves with { child, ready, manifest } once it is up. */
function startFixtureCli(dir) {
  const out = path.join(dir, 'manifest.json');
  const child = spawn(process.execPath, [path.join(CHAIN_DIR, 'fixture.mjs'), '--out', out, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const ready = JSON.parse(buf.slice(0, nl));
        resolve({ child, ready, manifest: JSON.parse(fs.readFileSync(ready.manifest, 'utf8')) });
      }
    });
    child.on('exit', (code) => reject(new Error(`fixture exited ${code}: ${err}`)));
  });
}

test('ShouldKillAnvilWhenFixtureCliGetsSigterm', { timeout: 60_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torq-chain-cli-'));
  const { child, ready, manifest } = await startFixtureCli(tmp);
  child.removeAllListeners('exit');
  assert.equal(ready.event, 'ready');
  assert.equal(manifest.anvil.pid, ready.anvilPid);
  assert.ok(alive(manifest.anvil.pid));
  assert.equal(fs.statSync(path.join(tmp, 'manifest.keys.json')).mode & 0o777, 0o600);
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(await waitGone(manifest.anvil.pid), 'anvil gone after SIGTERM');
  assert.ok(await portRefuses(manifest.anvil.port));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('ShouldKillAnvilWhenFixtureProcessIsKilled', { timeout: 60_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torq-chain-kill-'));
  const { child, manifest } = await startFixtureCli(tmp);
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
  assert.ok(await waitGone(manifest.anvil.pid), 'watchdog killed anvil after the fixture died');
  fs.rmSync(tmp, { recursive: true, force: true });
});
