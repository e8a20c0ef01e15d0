/** Connection pool settings of a provider: shared by the compiler (defaults) and the transport. */

/** How one provider's upstream connections are pooled (`connections`, `keepAlive` in the policy). */
export interface PoolSettings {
  /**
   * The most connections to the origin, which is also the most requests in flight there: one
   * HTTP/1.1 connection carries one request at a time, and a stream holds it to its end.
   */
  readonly connections: number;
  /** How long an idle connection is kept for the next request; 0 closes it after every response. */
  readonly keepAliveMs: number;
}

/**
 * A gateway holds one upstream connection per request in flight, and a long stream holds it for
 * minutes: the cap must sit well above the concurrency a gateway sees, not at an HTTP client's
 * default (undici's pools were capped at 128 here, and the 129th stream queued behind the first).
 * 1024 bounds sockets and file descriptors against a runaway without limiting real traffic.
 */
export const DEFAULT_CONNECTIONS = 1024;
/** Idle keep-alive: long enough to reuse connections between bursts, short of typical LB idle cuts (60 s). */
export const DEFAULT_KEEP_ALIVE_MS = 30_000;

export const DEFAULT_POOL: PoolSettings = {
  connections: DEFAULT_CONNECTIONS,
  keepAliveMs: DEFAULT_KEEP_ALIVE_MS,
};
