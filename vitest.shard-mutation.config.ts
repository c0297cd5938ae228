import { defineConfig } from 'vitest/config';
export default defineConfig({ test: { include: ['test/engine/shard-link.test.ts'], testTimeout: 10_000 } });
