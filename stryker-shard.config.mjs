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
  plugins: ['/tmp/stryker/node_modules/@stryker-mutator/vitest-runner/dist/src/index.js'],
};
