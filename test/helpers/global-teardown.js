// Jest globalTeardown: the run's temporary folder (global-setup.js) must be empty: every test removes
// what it made (test/helpers/temp.ts), and so does every tool it runs. Anything left is removed here
// anyway, and named in a failure, so a leak of a report folder, a certificate or a private key shows.
'use strict';
const { readdirSync, rmSync } = require('node:fs');

module.exports = function globalTeardown() {
  const dir = globalThis.__PROCODE_TEST_TMPDIR__;
  if (!dir) return;
  const left = readdirSync(dir);
  rmSync(dir, { recursive: true, force: true });
  if (left.length > 0) {
    throw new Error(
      `the tests left ${left.length} temporary file(s) or folder(s) behind: ${left.join(', ')}`,
    );
  }
};
