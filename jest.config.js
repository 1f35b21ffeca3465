/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // faker and jose ship ESM only: let swc transform them for jest.
  transformIgnorePatterns: ['/node_modules/(?!(@faker-js/faker|jose)/)'],
  testTimeout: 30000,
  // Jest's cache where other tools keep theirs, not in the system's temporary folder.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // One temporary folder for the whole run, which must be empty at the end (nothing left behind).
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.js',
};
