#!/usr/bin/env node
// `npm run build`, and the first step of `npm start`: the TypeScript of tsconfig.build.json compiled into
// dist/ (`tsc -b`, incremental: dist/.tsbuildinfo), the live docs' browser bundle copied
// (scripts/copy-docs-assets.js) and the consumers' types generated (scripts/generate-types.js). Each step
// does only what changed, so a second `npm start` is quick (`npm run bench:start` measures it).
//
// The one shortcut of our own: when no input of the compilation (sources, JSON imported by them, the
// tsconfig files, the lock file) is newer than the last compilation that passed (dist/.tsc-passed), tsc is
// not started at all. Loading the compiler only to hear "up to date" took about 0.4 s, more than the
// rest of a second start; whenever any input is newer, or the last compilation failed, `tsc -b` runs and
// decides itself, file by file (and reports the errors again).
'use strict';
const { spawnSync } = require('node:child_process');
const {
  chmodSync,
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} = require('node:fs');
const { join } = require('node:path');
const { copyDocsAssets } = require('./copy-docs-assets');
const { generateTypes } = require('./generate-types');

const ROOT = join(__dirname, '..');
const TSCONFIG = 'tsconfig.build.json';
const PASSED = join(ROOT, 'dist', '.tsc-passed');
/** The folders tsconfig.build.json includes. */
const SOURCE_DIRS = ['contract-kit', 'mock', 'fixtures', 'bench', 'harness'];
const SOURCE_FILE = /\.(ts|json)$/;

/** The newest modification time (ms) of the compilation's inputs. */
function newestInput() {
  let newest = 0;
  for (const file of ['tsconfig.json', TSCONFIG, 'package.json', 'package-lock.json'])
    newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs);
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !SOURCE_FILE.test(entry.name)) continue;
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function compile() {
  if (existsSync(PASSED) && newestInput() <= statSync(PASSED).mtimeMs) return;
  rmSync(PASSED, { force: true });
  const started = new Date();
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', TSCONFIG], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  // Stamped as of the start: a source saved while tsc ran is newer, so the next build compiles it.
  writeFileSync(PASSED, `${started.toISOString()}\n`);
  utimesSync(PASSED, started, started);
}

/**
 * The package's bins (package.json `bin`) are executable: `npm ci` on a fresh clone links them before
 * dist/ exists, so it cannot mark them, and `npx procode-contract` would be "Permission denied".
 */
function markBins() {
  const { bin } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const file of Object.values(bin ?? {})) {
    const path = join(ROOT, file);
    if (existsSync(path)) chmodSync(path, statSync(path).mode | 0o111);
  }
}

compile();
markBins();
copyDocsAssets();
generateTypes().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
