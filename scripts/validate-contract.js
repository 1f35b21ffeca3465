#!/usr/bin/env node
// Contract check: @apidevtools/swagger-parser's `validate` on each OpenAPI document, as the many tools
// built on it (Portman, openapi-generator's wrappers, Postman importers) run it. The documents are
// passed by absolute path so that their `./schemas/*.json` references resolve from the contracts
// folder, not from the working directory. Exits 1 when any document is rejected.
//
// Usage: node scripts/validate-contract.js [file...]   (default: both contracts)
'use strict';
const { join, resolve } = require('node:path');
const SwaggerParser = require('@apidevtools/swagger-parser');

const CONTRACTS = join(__dirname, '..', 'contracts');
const DEFAULT_FILES = ['procode.openapi.yaml', 'admin.openapi.yaml'].map((f) => join(CONTRACTS, f));
const print = (line) => process.stdout.write(`${line}\n`);

/** Validates one document with a fresh parser (validate dereferences in place). */
async function check(file) {
  const parser = new SwaggerParser();
  const started = process.hrtime.bigint();
  try {
    await parser.validate(file);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Informative: tools that refuse circular references (Portman's response validation) would balk.
    const circular = parser.$refs.circular ? ' (has circular $refs)' : '';
    print(`ok    ${file}: valid OpenAPI ${parser.api.openapi}${circular} in ${ms.toFixed(0)} ms`);
    return true;
  } catch (err) {
    print(`FAIL  ${file}:`);
    print(`      ${String(err.message).split('\n').join('\n      ')}`);
    return false;
  }
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : DEFAULT_FILES;
  let ok = true;
  for (const file of files) ok = (await check(file)) && ok;
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
