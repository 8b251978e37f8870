/**
 * Jest runs the compiled tests (tsc -b emits them to each package's dist/),
 * so workers, decorators and plugins run exactly as they do in production.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['<rootDir>/{sdk,core,test}/dist/**/*.test.js', '<rootDir>/plugins/*/dist/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/', '/test-fixtures/'],
  modulePathIgnorePatterns: ['<rootDir>/.bench/'],
  testTimeout: 60000,
  maxWorkers: 2,
};
