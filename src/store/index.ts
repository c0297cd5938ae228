export { openStateDb, openStore, SqliteStore } from './sqlite-store.js';
export { brokenReason, brokenStateDbMessage, StateDbError } from './broken.js';
export type { AttemptPatch, AttemptRecord, EventQuery, StoredEvent, StoreOptions } from './sqlite-store.js';
export { findMainRoot, findStateDb, NotARepositoryError } from './find-state-db.js';
export { LeaseKeeper } from './lease-keeper.js';
export type { LeaseKeeperOptions } from './lease-keeper.js';
export { HOST, holderGone, pidAlive } from './liveness.js';
export { BUSY_TIMEOUT_MS } from './db.js';
export { readLiveLeases } from './read-only.js';
