// Reference vectors from ethers v6 (chain/node_modules) for the executor's transaction and ABI
// code. Prints one JSON object. Used two ways:
//   - once by hand, to produce the vectors checked into test_tx.cpp / test_abi.cpp;
//   - by executor_ethers_crosscheck_test (label chain), which runs this script and compares
//     every vector byte for byte with what torq::executor produces for the same inputs.
// The inputs here must stay identical to kTxCases / kAbiCases in ethers_cases.hpp.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'chain', 'package.json'));
const { ethers } = require('ethers');

// anvil's well-known test account 0 (mnemonic "test test ... junk"); worthless outside a test chain.
const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const wallet = new ethers.Wallet(KEY);
const coder = ethers.AbiCoder.defaultAbiCoder();

const PATH = '0x' + Array.from({ length: 70 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0')).join('');
const executeIface = new ethers.Interface(['function execute(bytes path, uint256 amountIn, uint256 minProfit)']);
const executeData = executeIface.encodeFunctionData('execute', [PATH, 10n ** 18n * 3n + 7n, 123456789n]);

const txCases = [
  { name: 'transfer', chainId: 137n, nonce: 0, maxPriorityFeePerGas: 30_000_000_000n, maxFeePerGas: 300_000_000_000n,
    gasLimit: 21000n, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 10n ** 18n, data: '0x' },
  { name: 'execute_call', chainId: 137n, nonce: 42, maxPriorityFeePerGas: 25_000_000_000n, maxFeePerGas: 151_000_000_000n,
    gasLimit: 450000n, to: '0x5FbDB2315678afecb367f032d93F642f64180aa3', value: 0n, data: executeData },
  { name: 'create', chainId: 1n, nonce: 1000000, maxPriorityFeePerGas: 0n, maxFeePerGas: 1n,
    gasLimit: 3_000_000n, to: null, value: 0n, data: '0x600a600c600039600a6000f3602a60005260206000f3' },
  { name: 'big_values', chainId: 8453n, nonce: 2 ** 40, maxPriorityFeePerGas: 1n, maxFeePerGas: (1n << 255n) + 12345n,
    gasLimit: 30_000_000n, to: '0x0000000000000000000000000000000000000001', value: (1n << 200n) - 1n, data: '0x00' },
];

const out = { address: wallet.address, tx: [], abi: [] };
for (const c of txCases) {
  const tx = ethers.Transaction.from({ type: 2, chainId: c.chainId, nonce: c.nonce,
    maxPriorityFeePerGas: c.maxPriorityFeePerGas, maxFeePerGas: c.maxFeePerGas, gasLimit: c.gasLimit,
    to: c.to, value: c.value, data: c.data, accessList: [] });
  const unsignedHash = tx.unsignedHash;
  tx.signature = wallet.signingKey.sign(unsignedHash);
  out.tx.push({ name: c.name, signingHash: unsignedHash, raw: tx.serialized, hash: tx.hash,
    yParity: tx.signature.yParity, r: tx.signature.r, s: tx.signature.s });
}

const abi = (name, types, values) => out.abi.push({ name, encoded: coder.encode(types, values) });
out.abi.push({ name: 'execute', encoded: executeData });
out.abi.push({ name: 'selector_transfer', encoded: ethers.id('transfer(address,uint256)').slice(0, 10) });
abi('static_mix', ['address', 'uint256', 'int24', 'int24', 'bool', 'bytes32'],
  ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', (1n << 256n) - 1n, -887272, 887272, true, '0x' + 'ab'.repeat(32)]);
abi('bytes_empty_and_33', ['bytes', 'bytes'], ['0x', '0x' + '5a'.repeat(33)]);
abi('static_struct_array', ['(address,bool,int24,uint24)[]', 'uint256'],
  [[['0x5FbDB2315678afecb367f032d93F642f64180aa3', true, -60, 3000],
    ['0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', false, 10, 500]], 77n]);
abi('dynamic_struct_array', ['(address,bytes)[]', 'string'],
  [[['0x5FbDB2315678afecb367f032d93F642f64180aa3', '0x0102'],
    ['0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', '0x' + 'cd'.repeat(40)]], 'torq']);
abi('error_string', ['string'], ['Too little profit']);

console.log(JSON.stringify(out, null, 1));
