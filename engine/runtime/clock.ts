/**
 * Compatibility re-export: the clock lives in engine/shared/clock.ts (limits, replay and providers
 * sit below runtime and need it). Kept only for `engine/providers/types.ts` (and its tests) until
 * they import `../shared/clock.js`; test/architecture.test.ts allow-lists that one edge.
 */
export { type Clock, systemClock } from '../shared/clock.js';
