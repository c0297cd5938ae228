/** The task graph: Spec -> TaskGraph, glob overlap, and the plan's printable forms. */
export { buildGraph, type BuildGraphOptions } from './build.js';
export { globSetsOverlap, globsOverlap, matcher, ownsEverything } from './overlap.js';
export type { Conflict, CriticalPath, TaskGraph, WeightUnit } from './task-graph.js';
export { conflictGroups, MAX_SHARDS, parseShard, planShards, type Shard, type ShardPlan } from './shards.js';
