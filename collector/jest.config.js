// Collector tests run against real processes (collector, Prometheus, Redis, a local chain) on
// 127.0.0.1; see docs/testing.md. *.test.ts files next to nothing mocked but small pure pieces.
const { maxWorkers } = require('../jest.shared');

module.exports = {
  displayName: 'collector',
  // The same worker count and per-test bound when run alone (`npx jest -c collector/jest.config.js`) as under `npm test`.
  maxWorkers,
  setupFilesAfterEnv: ['<rootDir>/../jest.timeout.js'],
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
};
