// Mutation testing of the engine (not part of `npm test`; see docs/architecture.md for the last score):
//   npx -p @stryker-mutator/core@9.5.1 -p @stryker-mutator/vitest-runner@9.5.1 stryker run
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: ['src/engine/scheduler.ts', 'src/engine/merge-queue.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: 'reports/mutation/engine.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 10000,
};
