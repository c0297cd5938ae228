import { nodeEnvWasSet } from './react-production.js';

// See react-production.ts: React has loaded by now; children must not see NODE_ENV.
if (!nodeEnvWasSet) delete process.env.NODE_ENV;
