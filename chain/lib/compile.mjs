// Compiles chain/contracts/*.sol with the npm `solc` package (solc-js, no network) and caches
// the result under chain/.cache/ keyed by compiler version + sources + settings.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { CHAIN_DIR } from './common.mjs';

const require = createRequire(import.meta.url);

export const CONTRACTS_DIR = path.join(CHAIN_DIR, 'contracts');
export const CACHE_DIR = path.join(CHAIN_DIR, '.cache');

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

/**
 * Returns { ContractName: { abi, bytecode } } for every contract in chain/contracts.
 * Compiles only when the cache is missing or stale. Throws with solc's messages on error.
 */
export function compileContracts({ log = () => {} } = {}) {
  const files = fs.readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith('.sol')).sort();
  const sources = {};
  for (const f of files) sources[f] = { content: fs.readFileSync(path.join(CONTRACTS_DIR, f), 'utf8') };
  const solcPkg = require('solc/package.json');
  const key = createHash('sha256')
    .update(JSON.stringify({ v: solcPkg.version, sources, SETTINGS }))
    .digest('hex')
    .slice(0, 16);
  const cacheFile = path.join(CACHE_DIR, `contracts-${key}.json`);
  if (fs.existsSync(cacheFile)) {
    try {
      return JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
    } catch {
      // fall through and rebuild a corrupt cache file
    }
  }
  log(`compiling ${files.length} contracts with solc ${solcPkg.version}`);
  const solc = require('solc');
  const out = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: SETTINGS })));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error('solc failed:\n' + errors.map((e) => e.formattedMessage).join('\n'));
  const result = {};
  for (const [, contracts] of Object.entries(out.contracts)) {
    for (const [name, c] of Object.entries(contracts)) {
      result[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
    }
  }
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(result));
  fs.renameSync(tmp, cacheFile); // atomic: concurrent fixtures never read half a file
  return result;
}
