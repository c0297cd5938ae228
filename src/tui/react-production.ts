/**
 * React picks its development or its production build from NODE_ENV when it is first
 * loaded, and the CLI runs with NODE_ENV unset, which means development: a build several
 * times slower per frame (profiling marks, prop diffs for devtools), most of the TUI's CPU
 * on a busy run. `reporter.tsx` imports this module before Ink, and
 * `react-production-end.ts` after it, so NODE_ENV is set only while React loads and no
 * agent or check ever inherits it. A NODE_ENV the user set is left alone.
 */
export const nodeEnvWasSet = process.env.NODE_ENV !== undefined;
if (!nodeEnvWasSet) process.env.NODE_ENV = 'production';
