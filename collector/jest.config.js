// Collector tests run against real processes (collector, Prometheus, Redis, a local chain) on
// 127.0.0.1; see docs/testing.md. *.test.ts files next to nothing mocked but small pure pieces.
module.exports = {
  displayName: 'collector',
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
};
