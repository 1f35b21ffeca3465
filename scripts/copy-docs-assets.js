#!/usr/bin/env node
// Build step: copies the browser bundle of @scalar/api-reference (a devDependency) into
// dist/mock/docs/assets/, so the runtime image serves /docs without the package's 340 MB of
// build-time dependencies. The version is kept beside it for the cache-busting asset URL.
// Incremental: a file already copied (same size, not older than the package's) is left alone, so a
// second `npm start` costs a few stat calls here.
'use strict';
const { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** Whether `to` is a copy of `from` already (same size, modified no earlier). */
function copied(from, to) {
  if (!existsSync(to)) return false;
  const a = statSync(from);
  const b = statSync(to);
  return a.size === b.size && b.mtimeMs >= a.mtimeMs;
}

/** Copies what changed; @throws Error when the package has no browser bundle. */
function copyDocsAssets() {
  const root = dirname(dirname(require.resolve('@scalar/api-reference')));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const out = join(__dirname, '..', 'dist', 'mock', 'docs', 'assets');
  mkdirSync(out, { recursive: true });
  for (const file of ['standalone.js', 'standalone.js.map']) {
    const from = join(root, 'dist', 'browser', file);
    if (existsSync(from) && !copied(from, join(out, file))) copyFileSync(from, join(out, file));
  }
  if (!existsSync(join(out, 'standalone.js')))
    throw new Error(`@scalar/api-reference ${version}: no dist/browser/standalone.js`);
  const versionFile = join(out, 'version.json');
  const versionJson = JSON.stringify({ package: '@scalar/api-reference', version }) + '\n';
  if (!existsSync(versionFile) || readFileSync(versionFile, 'utf8') !== versionJson)
    writeFileSync(versionFile, versionJson);
}

module.exports = { copyDocsAssets };
if (require.main === module) copyDocsAssets();
