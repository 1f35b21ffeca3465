// Jest globalSetup: the whole run gets a temporary folder of its own (TMPDIR, inherited by the workers and
// every process a test starts: the mock, Prism, Newman, Chromium), so global-teardown.js can prove that
// `npm test` leaves nothing behind in the system's temporary folder.
'use strict';
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'procode-test-run-'));
  globalThis.__PROCODE_TEST_TMPDIR__ = dir;
  process.env.TMPDIR = dir;
  // Node.js 22 and later keep the module compile cache that a tool enables (module.enableCompileCache())
  // in <tmpdir>/node-compile-cache unless NODE_COMPILE_CACHE names a folder: a cache, kept with the
  // other tools' caches, not a test's leftover.
  process.env.NODE_COMPILE_CACHE ??= join(
    __dirname,
    '..',
    '..',
    'node_modules',
    '.cache',
    'node-compile-cache',
  );
};
