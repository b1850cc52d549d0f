/**
 * Three projects: unit specs next to the code (src/**\/*.spec.ts), pure rules that run in seconds without a database
 * (`npm run test:unit`); e2e specs in test/ that boot the app against real PostgreSQL; and the ledger and
 * enforcement specs again (`npm run test:pooler`), each spec file through a PgBouncer of its own in transaction pooling mode
 * (test/support/through-pgbouncer.ts), with the pooler's own checks in test/pooler.e2e-spec.ts.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
const e2e = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform,
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/quiet-logs.ts'],
};
const POOLER_ONLY = '<rootDir>/test/pooler.e2e-spec.ts';

module.exports = {
  projects: [
    {
      displayName: 'unit',
      rootDir: '.',
      moduleFileExtensions: ['js', 'json', 'ts'],
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform,
      testEnvironment: 'node',
      setupFiles: ['<rootDir>/test/support/quiet-logs.ts'],
    },
    {
      ...e2e,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: [POOLER_ONLY],
    },
    {
      ...e2e,
      displayName: 'pgbouncer',
      testMatch: ['<rootDir>/test/{ledger,ledger-model,enforcement}.e2e-spec.ts', POOLER_ONLY],
      setupFilesAfterEnv: ['<rootDir>/test/support/through-pgbouncer.ts'],
    },
  ],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  maxWorkers: 2,
  testTimeout: 60_000,
};
