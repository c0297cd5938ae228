import { defineConfig } from 'vitest/config';

/** The engine's unit tests (fakes, no processes): what mutation testing runs against each mutant. */
export default defineConfig({
  test: {
    include: ['test/engine/**/*.test.ts', 'test/resume/engine-resume.test.ts'],
    testTimeout: 10_000,
  },
});
