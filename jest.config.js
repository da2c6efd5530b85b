// One `npm test` runs every package's tests (docs/testing.md).
const { maxWorkers, testTimeout } = require('./jest.shared');

module.exports = {
  maxWorkers,
  testTimeout,
  projects: [
    '<rootDir>/client/jest.config.js',
    '<rootDir>/collector/jest.config.js',
    '<rootDir>/plugin/jest.config.js',
    '<rootDir>/bench/jest.config.js',
  ],
};
