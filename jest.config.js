// Jest runs in native ESM mode (NestJS 12 ships ES modules only); @swc/jest
// compiles TypeScript with the project's .swcrc (decorator metadata included).
const transform = {
  '^.+\\.ts$': ['@swc/jest'],
  // content-disposition 3 (under @fastify/static) ships ES modules only, which Jest's own require()
  // cannot load before Node 24.9 (Node 20.19 itself can): compiled to CommonJS for the tests.
  '/node_modules/content-disposition/.+\\.js$': ['@swc/jest', { swcrc: false, module: { type: 'commonjs' } }],
};
const transformIgnorePatterns = ['^(?!.*/node_modules/content-disposition/).*/node_modules/'];
const moduleNameMapper = {
  '^@app/(common|ledger|pricing|generation|billing|admin|events)$': '<rootDir>/libs/$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};
const shared = { testEnvironment: 'node', extensionsToTreatAsEsm: ['.ts'], transform, transformIgnorePatterns, moduleNameMapper };

export default {
  maxWorkers: 2,
  testTimeout: 120_000,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.int-spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/', '<rootDir>/test/cluster/'],
    },
    // Restarts of PostgreSQL and Redis: only with TW_FAULTS=1 (npm run test:faults), never beside other suites.
    ...(process.env.TW_FAULTS === '1' ? [{ ...shared, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.int-spec.ts'] }] : []),
    // A Redis Cluster, PgBouncer and a PostgreSQL replica that test/cluster/run.sh starts: only with TW_CLUSTER=1 (npm run test:cluster).
    ...(process.env.TW_CLUSTER === '1' ? [{ ...shared, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.int-spec.ts'] }] : []),
  ],
};
