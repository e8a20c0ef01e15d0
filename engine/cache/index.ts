/**
 * The response cache's building blocks: compiled caches and their keys, the store port with its
 * memory and Redis stores, single flight for concurrent misses, and stream replay/assembly. The
 * request path composes them (see docs in each module); nothing here reads a clock of its own.
 */
export { isCompleteChatCompletion, toCachedAnswer, usageOf } from './answer.js';
export { type CompileCacheResult, type CompiledCache, compileCache } from './compile.js';
export {
  type CacheDirectives,
  type CacheKeyFunction,
  type CacheKeyOptions,
  cacheDirectives,
  canonicalJson,
  compileCacheKey,
  hashCacheKey,
  IDEMPOTENCY_HEADER,
  idempotentCacheKey,
  KEY_FORMAT_VERSION,
  keyFields,
  requestCacheKey,
  WHOLE_BODY_FIELD,
} from './keys.js';
export { createMemoryCacheStore, MemoryCacheStore, type MemoryCacheStoreOptions } from './memory-store.js';
export {
  createRedisCacheStore,
  REDIS_CACHE_PREFIX,
  RedisCacheStore,
  type RedisCacheStoreOptions,
} from './redis-store.js';
export {
  createSingleFlight,
  type RunOptions,
  SingleFlight,
  type SingleFlightOptions,
} from './single-flight.js';
export type { CachedAnswer, CacheStore, CacheStoreError, CacheStoreErrorHandler } from './store.js';
export {
  assembleStream,
  DONE_FRAME,
  type ReplayOptions,
  replayStream,
  StreamAssembler,
  splitText,
  wantsUsage,
} from './stream.js';
