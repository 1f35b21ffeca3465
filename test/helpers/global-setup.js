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
};
