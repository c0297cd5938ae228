// Mutation testing of the shard link (not part of `npm test`; see docs/architecture.md for the last score):
//   npx -p @stryker-mutator/core@9.5.1 -p @stryker-mutator/vitest-runner@9.5.1 stryker run stryker-shard.config.mjs
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.shard-mutation.config.ts' },
  mutate: ['src/engine/shard-link.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  reporters: ['clear-text', 'progress-append-only'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 10000,
};
