// One `npm test` runs every package's tests (docs/testing.md).
module.exports = {
  // Integration tests start real processes (collector, Prometheus, Redis, a chain, Chromium).
  testTimeout: 60_000,
  projects: ['<rootDir>/client/jest.config.js', '<rootDir>/collector/jest.config.js', '<rootDir>/plugin/jest.config.js', '<rootDir>/bench/jest.config.js'],
};
