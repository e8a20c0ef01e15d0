/**
 * Rate limits and budgets: pure GCRA maths, the limiter and counter stores (memory, Redis, the
 * `onStoreError` wrapper), counter keys, the per-request limiter and budget tracking.
 */
export * from './budgets.js';
export * from './gcra.js';
export * from './keys.js';
export * from './limiter.js';
export * from './memory-store.js';
export * from './redis-store.js';
export * from './resilient-store.js';
export * from './store.js';
