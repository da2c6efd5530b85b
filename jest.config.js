// One `npm test` runs every package's tests (docs/testing.md).
const { availableParallelism, cpus } = require('node:os');

/**
 * One jest worker per core: most test time is spent waiting on the processes a test starts
 * (collector, Prometheus, Redis, hardhat, Chromium), so a second worker on a 2-core machine
 * overlaps those waits, while more workers than cores would only add CPU contention under load.
 * Override with `npm test -- --maxWorkers=N` (docs/testing.md).
 */
const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;

module.exports = {
  maxWorkers: Math.max(1, cores),
  // Integration tests start real processes; waits inside them have their own deadlines
  // (collector/test/helpers/deadlines.ts: 90 s for a process to be ready), so the per-test bound
  // sits above those and only stops a hang. SG_TEST_TIMEOUT_MS overrides it.
  testTimeout: Number(process.env.SG_TEST_TIMEOUT_MS) || 180_000,
  projects: ['<rootDir>/collector/jest.config.js', '<rootDir>/plugin/jest.config.js', '<rootDir>/bench/jest.config.js'],
};
