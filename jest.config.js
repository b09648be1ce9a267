/** Unit, snapshot and diff tests run in parallel; the integration suites share one Docker engine. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.js'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  maxWorkers: 2,
  maxConcurrency: 2,
  verbose: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
