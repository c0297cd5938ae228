export { auditPaths } from './audit.js';
export {
  claudeSettingsJson,
  ENV,
  enforcementEnv,
  ensureGuardHooksDir,
  GUARDED_TOOLS,
  hookArgv,
  resolveOrigHooksPath,
  shellQuote,
} from './env.js';
export type { EnforcementOptions, GuardMode } from './env.js';
export { globMatcher, normalizeGlob } from './globs.js';
export { escapingLinks } from './links.js';
