#!/usr/bin/env node
// Build step: copies the browser bundle of @scalar/api-reference (a devDependency) into
// dist/mock/docs/assets/, so the runtime image serves /docs without the package's 340 MB of
// build-time dependencies. The version is kept beside it for the cache-busting asset URL.
'use strict';
const { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const root = dirname(dirname(require.resolve('@scalar/api-reference')));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(__dirname, '..', 'dist', 'mock', 'docs', 'assets');
mkdirSync(out, { recursive: true });
for (const file of ['standalone.js', 'standalone.js.map']) {
  const from = join(root, 'dist', 'browser', file);
  if (existsSync(from)) copyFileSync(from, join(out, file));
}
if (!existsSync(join(out, 'standalone.js')))
  throw new Error(`@scalar/api-reference ${version}: no dist/browser/standalone.js`);
writeFileSync(
  join(out, 'version.json'),
  JSON.stringify({ package: '@scalar/api-reference', version }) + '\n',
);
