/**
 * Jest runs the compiled tests (tsc -b emits them to each package's dist/),
 * so workers, decorators and plugins run exactly as they do in production.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/sdk/dist', '<rootDir>/core/dist', '<rootDir>/plugins', '<rootDir>/test/dist'],
  testMatch: ['**/dist/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/', '/fixtures/'],
  testTimeout: 60000,
  maxWorkers: 2,
};
