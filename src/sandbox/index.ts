export { probeBwrap, writablePaths } from './bwrap.js';
export type { SandboxLayout, SandboxTarget } from './bwrap.js';
export { differences, fingerprint } from './fingerprint.js';
export type { Fingerprint, FingerprintScope } from './fingerprint.js';
export { BwrapSandbox, sandboxPreflight } from './sandbox.js';
export { spoolPath, watcher } from './watch.js';
