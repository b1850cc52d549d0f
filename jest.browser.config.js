/**
 * Browser tests (`npm run test:browser`): the compiled service in development mode, driven through Debian's chromium
 * by playwright-core. Not part of `npm test`, which runs without a browser.
 */
module.exports = {
  displayName: 'browser',
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
  globalSetup: '<rootDir>/test/browser/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/browser/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 90_000,
};
