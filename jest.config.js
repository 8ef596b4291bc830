/** Tests run from TypeScript sources through swc; `npm run typecheck` is the type gate. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The k6 scripts' shared modules (loadtest/lib/*.js, ES modules) are transformed too, so tests run the code k6 runs.
  transform: { '^.+\\.ts$|/loadtest/lib/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  // Integration tests share one private broker; running files one by one keeps them from starving a 2-core box.
  maxWorkers: 1,
};
