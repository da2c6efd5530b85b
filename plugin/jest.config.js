// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const { maxWorkers } = require('../jest.shared');

// The scaffold's config is extended, never edited (.config/README.md).
module.exports = {
  ...base,
  displayName: 'plugin',
  // The same worker count and per-test bound when run alone (`npx jest -c plugin/jest.config.js`) as under `npm test`.
  maxWorkers,
  setupFilesAfterEnv: [...base.setupFilesAfterEnv, '<rootDir>/../jest.timeout.js'],
  rootDir: __dirname,
  // d3-color and friends ship `.mjs`: transform them like the .ts sources.
  transform: {
    ...base.transform,
    '^.+\\.mjs$': base.transform['^.+\\.(t|j)sx?$'],
  },
  // The browser test host (plugin/test-host) has its own runner.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test-host/', '<rootDir>/dist/'],
};
