// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

// The scaffold's config is extended, never edited (.config/README.md).
module.exports = {
  ...base,
  displayName: 'plugin',
  rootDir: __dirname,
  // d3-color and friends ship `.mjs`: transform them like the .ts sources.
  transform: {
    ...base.transform,
    '^.+\\.mjs$': base.transform['^.+\\.(t|j)sx?$'],
  },
  // The browser test host (plugin/test-host) has its own runner.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test-host/', '<rootDir>/dist/'],
};
