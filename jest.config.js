/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `npm run build`'s job (CI runs it); Jest only transpiles.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // @middy/core 6 is ESM-only: compile it to CommonJS for Jest.
    '^.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs' }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // Fails the run if the tests leave anything of ours in the system temp directory.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  // Jest's cache defaults to the system temp dir: keep it with the dependencies instead.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
};
