/** The shard link's unit tests: what mutation testing of src/engine/shard-link.ts runs against each mutant. */
import { defineConfig } from 'vitest/config';
export default defineConfig({ test: { include: ['test/engine/shard-link.test.ts'], testTimeout: 10_000 } });
