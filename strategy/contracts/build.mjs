#!/usr/bin/env node
// Compiles strategy/contracts/TorqArbitrage.sol with the pinned npm solc (chain/node_modules/solc)
// and pinned settings, and writes strategy/contracts/out/TorqArbitrage.json (ABI, creation and
// runtime bytecode, compiler version, settings, source hash). The output is deterministic: the
// same source and compiler give a byte-identical file, so the artifact is checked in and
// `--check` (used by tests/contracts) fails when it drifts from the source.
//
//   node strategy/contracts/build.mjs            # (re)write out/TorqArbitrage.json
//   node strategy/contracts/build.mjs --check    # exit 1 if the checked-in file differs
//   node strategy/contracts/build.mjs --out F    # write elsewhere (e.g. a build directory)
//
// Exit codes: 0 ok, 1 drift (--check) or compile error, 2 usage, 77 solc not installed.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const CONTRACTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(CONTRACTS_DIR, '..', '..');
export const SOURCE_FILE = path.join(CONTRACTS_DIR, 'TorqArbitrage.sol');
export const ARTIFACT_FILE = path.join(CONTRACTS_DIR, 'out', 'TorqArbitrage.json');
export const CONTRACT_NAME = 'TorqArbitrage';
/** Source unit name inside solc's input (and so in the metadata hash): never an absolute path. */
const SOURCE_UNIT = 'strategy/contracts/TorqArbitrage.sol';

/** Pinned compiler settings: changing any of them changes the artifact on purpose. */
export const SETTINGS = Object.freeze({
  optimizer: { enabled: true, runs: 10000 },
  evmVersion: 'cancun', // EIP-1153 transient storage; Polygon PoS has it since the Napoli fork
  metadata: { bytecodeHash: 'ipfs' },
  outputSelection: {
    [SOURCE_UNIT]: { [CONTRACT_NAME]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
});
export const SOLC_VERSION_PIN = '0.8.37';

/** Returns the solc module from chain/node_modules, or null when it is not installed. */
export function loadSolc() {
  const require = createRequire(path.join(REPO_ROOT, 'chain', 'package.json'));
  try {
    return require('solc');
  } catch {
    return null;
  }
}

/** Compiles and returns the artifact text (JSON, 2-space indent, trailing newline). */
export function buildArtifactText(solc) {
  const source = fs.readFileSync(SOURCE_FILE, 'utf8');
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION_PIN}+`)) {
    throw new Error(`solc ${version} found, ${SOLC_VERSION_PIN} pinned (chain/package.json)`);
  }
  const input = { language: 'Solidity', sources: { [SOURCE_UNIT]: { content: source } }, settings: SETTINGS };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error('solc failed:\n' + errors.map((e) => e.formattedMessage).join('\n'));
  const warnings = (out.errors || []).filter((e) => e.severity !== 'error');
  if (warnings.length) {
    throw new Error('solc warnings (the build is warning-free):\n' + warnings.map((e) => e.formattedMessage).join('\n'));
  }
  const c = out.contracts[SOURCE_UNIT][CONTRACT_NAME];
  const artifact = {
    contractName: CONTRACT_NAME,
    sourceName: SOURCE_UNIT,
    sourceSha256: createHash('sha256').update(source).digest('hex'),
    compiler: { name: 'solc', version },
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion, metadata: SETTINGS.metadata },
    abi: c.abi,
    bytecode: '0x' + c.evm.bytecode.object,
    deployedBytecode: '0x' + c.evm.deployedBytecode.object,
  };
  return JSON.stringify(artifact, null, 2) + '\n';
}

function main(argv) {
  let check = false;
  let outFile = ARTIFACT_FILE;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') check = true;
    else if (argv[i] === '--out' && i + 1 < argv.length) outFile = path.resolve(argv[++i]);
    else {
      console.error('usage: node strategy/contracts/build.mjs [--check] [--out FILE]');
      return 2;
    }
  }
  const solc = loadSolc();
  if (!solc) {
    console.error('SKIP: chain/node_modules/solc is absent (run: npm ci --prefix chain)');
    return 77;
  }
  let text;
  try {
    text = buildArtifactText(solc);
  } catch (e) {
    console.error(e.message);
    return 1;
  }
  if (check) {
    const have = fs.existsSync(ARTIFACT_FILE) ? fs.readFileSync(ARTIFACT_FILE, 'utf8') : null;
    if (have !== text) {
      console.error(`${path.relative(REPO_ROOT, ARTIFACT_FILE)} is stale: run node strategy/contracts/build.mjs`);
      return 1;
    }
    console.log(JSON.stringify({ artifact: path.relative(REPO_ROOT, ARTIFACT_FILE), upToDate: true }));
    return 0;
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, outFile);
  const a = JSON.parse(text);
  console.log(JSON.stringify({
    artifact: path.relative(REPO_ROOT, outFile) || outFile, solc: a.compiler.version,
    initcodeBytes: (a.bytecode.length - 2) / 2, runtimeBytes: (a.deployedBytecode.length - 2) / 2,
  }));
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
