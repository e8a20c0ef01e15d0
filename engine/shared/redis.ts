/**
 * The Redis client life cycle the Redis-backed stores (limits, cache) share: a store either uses
 * the client it was given (its owner's to close and to listen to) or creates one from a URL, which
 * it then owns and closes. Each store picks its own client options (timeouts, retries).
 *
 * ioredis is loaded by the first store that creates a client ({@link redisClass}), never by
 * importing the engine: it costs ~15 MB of private memory and ~0.3 s at import, which a policy
 * without `stores.redis` (and an embedder that never names Redis) should not pay. The stores are
 * created when a policy is installed (engine start, reload), so the load is off the request path.
 */
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
let RedisClass: typeof IORedis.Redis | undefined;

/**
 * The ioredis client class, loaded on first use. Synchronous (ioredis is CommonJS), so the store
 * constructors stay synchronous; a dynamic `import()` would make every store factory async.
 */
export function redisClass(): typeof IORedis.Redis {
  RedisClass ??= (require('ioredis') as typeof IORedis).Redis;
  return RedisClass;
}

export interface StoreClientOptions {
  /** `redis://host:port/db`; ignored when `client` is given. */
  readonly url?: string;
  /** An existing client, not closed by the store. */
  readonly client?: Redis;
}

export interface StoreClient {
  readonly client: Redis;
  /** The store created the client: it closes it (see {@link closeOwnedClient}). */
  readonly owned: boolean;
}

/** The given client, or one `create`d from the URL; `store` names the store in the error for neither. */
export function storeClient(
  options: StoreClientOptions,
  store: string,
  create: (url: string) => Redis,
): StoreClient {
  if (options.client !== undefined) return { client: options.client, owned: false };
  if (options.url === undefined) throw new TypeError(`${store} needs a url or a client`);
  return { client: create(options.url), owned: true };
}

/** QUIT when the connection is ready (replies in flight still arrive), else a hard disconnect. */
export async function closeOwnedClient(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  client.disconnect();
}

/** `hook` (or nothing) made safe to call from a store: what it throws is dropped. */
export function quietHook<T>(hook: ((event: T) => void) | undefined): (event: T) => void {
  if (hook === undefined) return () => {};
  return (event) => {
    try {
      hook(event);
    } catch {
      // A faulty hook must not fail a store operation, nor crash the process from an event emitter.
    }
  };
}
