/** Unit tests of the benchmark suite's pure pieces: `npx jest -c bench/jest.config.js`. */
module.exports = {
  displayName: 'bench',
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.js'],
};
