/**
 * One throwaway redis-server (see redis.ts) for a whole test file: started before the first test,
 * stopped after the last. Kept apart from redis.ts, which the benchmarks import without vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedis } from './redis.js';

/**
 * Registers the hooks; the returned function gives the server from the first test on, and throws
 * when there is none (redis-server is not installed: guard the tests with `redisAvailable`).
 */
export function useRedis(): () => RedisServer {
  let redis: RedisServer | null = null;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return () => {
    if (redis === null) throw new Error('redis-server is not running');
    return redis;
  };
}
