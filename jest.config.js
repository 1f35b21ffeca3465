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
};
