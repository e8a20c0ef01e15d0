/**
 * The Redis store for limits and budget counters, shared by replicas.
 *
 * - One atomic Lua script per operation (GCRA acquire/adjust; counter add), sent with EVALSHA and
 *   re-sent with EVAL when Redis answers NOSCRIPT (a restarted or flushed server).
 * - `now` is an argument, never Redis `TIME`: the engine's Clock is the source of truth, so replay
 *   on virtual time works and every replica decides with the same formula. Replicas whose clocks
 *   differ by `d` ms can over- or under-admit by about `d x rate`.
 * - A limiter key is one string `"<tatMs>:<frac>"` (see `gcra.ts`) written with `PX` = time until
 *   the bucket is empty plus `ttlSlackMs`, so idle keys vanish; an expired key is the empty bucket,
 *   which is exactly what a missing key means. The slack covers a gap between the engine's clock
 *   and Redis's own (expiry runs on Redis's wall clock).
 * - A counter key is `<key>@<periodStart>` incremented with INCRBY (whole numbers only, exact) and
 *   `PEXPIRE`d past the end of its period.
 *
 * Errors are thrown (connection refused, timeout, NOSCRIPT that EVAL could not fix): wrap the store
 * in `ResilientStore` to apply a limit's `onStoreError`. The client is created with the offline
 * queue off and at most one retry, so while Redis is away commands fail at once instead of piling
 * up, and ioredis reconnects in the background.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  closeOwnedClient,
  quietHook,
  redisClass,
  type StoreClientOptions,
  storeClient,
} from '../shared/redis.js';
import { MAX_TICKS, wholeCost } from './gcra.js';
import {
  type Acquired,
  assertWholeAmount,
  type CounterStore,
  type LimiterStore,
  type LimitParams,
  periodKey,
} from './store.js';

export const REDIS_LIMITS_PREFIX = 'switchyard:';

/**
 * GCRA in Lua, the same formulas as `gcraAcquire` / `gcraAdjust` (all numbers are integers below
 * 2^53, exact in Lua's doubles). KEYS[1] state; ARGV: now, cost, amount, periodMs, capacity,
 * force (1 = adjust: never refused, may exceed capacity), ttl slack ms, max ticks.
 * Returns { allowed, remaining, retryAfterMs (-1 = never), resetAfterMs }.
 */
const GCRA_LUA = `
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local period = tonumber(ARGV[4])
local capacity = tonumber(ARGV[5])
local force = ARGV[6] == '1'
local slack = tonumber(ARGV[7])
local maxTicks = tonumber(ARGV[8])
local ahead = 0
local raw = redis.call('GET', KEYS[1])
if raw then
  local sep = string.find(raw, ':', 1, true)
  local ms = tonumber(string.sub(raw, 1, sep - 1))
  if ms >= now then
    ahead = (ms - now) * amount + tonumber(string.sub(raw, sep + 1))
  end
end
local tau = capacity * period
local nxt = ahead + cost * period
if not force then
  local before = math.max(0, math.floor((tau - ahead) / period))
  if cost > capacity then
    return { 0, before, -1, math.ceil(ahead / amount) }
  end
  if cost > 0 and nxt > tau then
    return { 0, before, math.ceil((nxt - tau) / amount), math.ceil(ahead / amount) }
  end
end
if nxt < 0 then nxt = 0 end
if nxt > maxTicks then nxt = maxTicks end
if cost ~= 0 then
  if nxt == 0 then
    redis.call('DEL', KEYS[1])
  else
    local whole = math.floor(nxt / amount)
    redis.call('SET', KEYS[1], string.format('%d:%d', now + whole, nxt - whole * amount), 'PX', whole + 1 + slack)
  end
end
return { 1, math.max(0, math.floor((tau - nxt) / period)), 0, math.ceil(nxt / amount) }
`;

/** KEYS[1] counter; ARGV: amount, ttl ms. Returns the new total. */
const COUNTER_LUA = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return total
`;

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const GCRA = script(GCRA_LUA);
const COUNTER = script(COUNTER_LUA);

export interface RedisStoreOptions extends StoreClientOptions {
  /** An existing client (not closed by `close()`); give it `enableOfflineQueue: false`. */
  readonly client?: Redis;
  /** Prepended to every key; default `switchyard:`. */
  readonly prefix?: string;
  /** ioredis command timeout for a created client; default 100 ms. */
  readonly commandTimeoutMs?: number;
  /** Added to every limiter key's expiry; default 1000 ms. */
  readonly ttlSlackMs?: number;
  /** Told about connection errors (ioredis 'error' events); must not throw. */
  readonly onConnectionError?: (error: unknown) => void;
}

/** A client suited to limits: no offline queue, one retry, quick reconnects. */
export function createRedisClient(url: string, commandTimeoutMs = 100): Redis {
  const Redis = redisClass();
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (times: number) => Math.min(50 * times, 1_000),
  });
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function toInt(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new TypeError(`unexpected Redis reply for ${what}: ${String(value)}`);
  return n;
}

/**
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379/0' });
 * await store.ready();
 * const r = await store.acquire('rl:3f2a…:r:tenant=acme', params, 1, clock.now());
 */
export class RedisStore implements LimiterStore, CounterStore {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #slack: number;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.prefix ?? REDIS_LIMITS_PREFIX;
    this.#slack = Math.max(0, Math.ceil(options.ttlSlackMs ?? 1_000));
    const { client, owned } = storeClient(options, 'RedisStore', (url) =>
      createRedisClient(url, options.commandTimeoutMs ?? 100),
    );
    this.#client = client;
    this.#owned = owned;
    // Without a listener, ioredis reports connection errors as unhandled 'error' events.
    this.#client.on('error', quietHook(options.onConnectionError));
  }

  /** The underlying client (for health checks). */
  get client(): Redis {
    return this.#client;
  }

  /** Resolves once the client is connected (commands fail until then: no offline queue). */
  async ready(timeoutMs = 5_000): Promise<void> {
    if (this.#client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#client.off('ready', onReady);
        reject(new Error(`Redis not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#client.once('ready', onReady);
    });
  }

  async acquire(key: string, params: LimitParams, cost: number, now: number): Promise<Acquired> {
    const reply = await this.#gcra(key, params, wholeCost(cost), now, false);
    if (!Array.isArray(reply) || reply.length !== 4) {
      throw new TypeError(`unexpected Redis reply for acquire: ${String(reply)}`);
    }
    const retry = toInt(reply[2], 'acquire');
    return {
      allowed: toInt(reply[0], 'acquire') === 1,
      limit: params.capacity,
      remaining: toInt(reply[1], 'acquire'),
      retryAfterMs: retry < 0 ? Number.POSITIVE_INFINITY : retry,
      resetAfterMs: toInt(reply[3], 'acquire'),
    };
  }

  async adjust(key: string, params: LimitParams, delta: number, now: number): Promise<void> {
    const d = wholeCost(delta);
    if (d === 0) return;
    await this.#gcra(key, params, d, now, true);
  }

  async add(key: string, amount: number, periodStartMs: number, ttlMs: number): Promise<number> {
    assertWholeAmount(amount);
    const ttl = Math.max(1, Math.ceil(ttlMs));
    return toInt(
      await this.#eval(COUNTER, this.#prefix + periodKey(key, periodStartMs), [amount, ttl]),
      'add',
    );
  }

  async get(key: string, periodStartMs: number): Promise<number> {
    const text = await this.#client.get(this.#prefix + periodKey(key, periodStartMs));
    return text === null ? 0 : toInt(text, 'get');
  }

  async close(): Promise<void> {
    if (this.#closed || !this.#owned) return;
    this.#closed = true;
    await closeOwnedClient(this.#client);
  }

  #gcra(key: string, params: LimitParams, cost: number, now: number, force: boolean): Promise<unknown> {
    return this.#eval(GCRA, this.#prefix + key, [
      Math.floor(now),
      cost,
      params.amount,
      params.periodMs,
      params.capacity,
      force ? 1 : 0,
      this.#slack,
      MAX_TICKS,
    ]);
  }

  async #eval(s: Script, key: string, args: readonly number[]): Promise<unknown> {
    try {
      return await this.#client.evalsha(s.sha, 1, key, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return await this.#client.eval(s.lua, 1, key, ...args);
    }
  }
}
