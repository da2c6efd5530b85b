// One `npm test` runs every package's tests (docs/testing.md).
module.exports = {
  projects: ['<rootDir>/collector/jest.config.js', '<rootDir>/plugin/jest.config.js'],
};
