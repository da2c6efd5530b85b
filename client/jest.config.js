// Unit tests of the client core: a fake clock and a scripted socket, no network (docs/testing.md).
const { maxWorkers } = require('../jest.shared');

module.exports = {
  displayName: 'client',
  // The same worker count and per-test bound when run alone (`npx jest -c client/jest.config.js`) as under `npm test`.
  maxWorkers,
  setupFilesAfterEnv: ['<rootDir>/../jest.timeout.js'],
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/__tests__/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
};
