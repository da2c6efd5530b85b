/**
 * Settings shared by the root jest config (`npm test`) and each project's own config (for
 * `npx jest -c collector/jest.config.js …`), so a test gets the same bounds either way.
 */
const { availableParallelism, cpus } = require('node:os');

/**
 * One jest worker per core: most test time is spent waiting on the processes a test starts
 * (collector, Prometheus, Redis, hardhat, Chromium), so a second worker on a 2-core machine
 * overlaps those waits, while more workers than cores would only add CPU contention under load.
 * Override with `npm test -- --maxWorkers=N` (docs/testing.md).
 */
const maxWorkers = Math.max(1, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length);

/**
 * Integration tests start real processes; the waits inside them have their own deadlines
 * (collector/test/helpers/deadlines.ts: up to 90 s for a process to be ready), so the per-test
 * bound sits above those and only stops a hang. SG_TEST_TIMEOUT_MS overrides it.
 */
const testTimeout = Number(process.env.SG_TEST_TIMEOUT_MS) || 180_000;

module.exports = { maxWorkers, testTimeout };
