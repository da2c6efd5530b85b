/** Unit tests of the benchmark suite's pure pieces: `npx jest -c bench/jest.config.js`. */
const { maxWorkers } = require('../jest.shared');

module.exports = {
  displayName: 'bench',
  // The same worker count and per-test bound when run alone (`npx jest -c bench/jest.config.js`) as under `npm test`.
  maxWorkers,
  setupFilesAfterEnv: ['<rootDir>/../jest.timeout.js'],
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.js'],
};
