#!/usr/bin/env node
// Pre-compiles chain/contracts/*.sol into chain/.cache/ (the fixture also does this on demand).
import { compileContracts } from './lib/compile.mjs';

const out = compileContracts({ log: (m) => console.error(m) });
console.log(JSON.stringify({ contracts: Object.keys(out).sort() }));
