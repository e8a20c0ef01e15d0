/**
 * Built-in settings and their resolution across layers (built-in < `defaults` < route < model),
 * each key on its own.
 */

import type { Breaker, Retry, Timeout } from '../policy/types.generated.js';
import { parseDuration } from '../shared/units.js';
import {
  type BreakerSettings,
  ERROR_CLASSES,
  type ErrorClass,
  type RetrySettings,
  type StreamSettings,
  type TimeoutSettings,
} from '../types.js';

// ---------------------------------------------------------------------------------------------
// Built-in defaults (the schema's `default` keywords)

export const BUILTIN_TIMEOUT: TimeoutSettings = Object.freeze({
  connectMs: 5_000,
  firstTokenMs: 60_000,
  idleMs: 30_000,
  totalMs: 300_000,
});

export const DEFAULT_RETRY_ON: readonly ErrorClass[] = Object.freeze([
  'connect',
  'rate_limited',
  'overloaded',
  'server_error',
] as const);

/** Every class except the caller's own faults (`bad_request`, `content_policy`) falls over. */
export const DEFAULT_FALLBACK_ON: readonly ErrorClass[] = Object.freeze(
  ERROR_CLASSES.filter((c) => c !== 'bad_request' && c !== 'content_policy'),
);

export const BUILTIN_RETRY: RetrySettings = Object.freeze({
  attempts: 2,
  backoff: Object.freeze({ initialMs: 250, maxMs: 8_000, multiplier: 2, jitter: 'full' as const }),
  respectRetryAfterMs: 30_000,
  retryOn: DEFAULT_RETRY_ON,
  fallbackOn: DEFAULT_FALLBACK_ON,
});

export const BUILTIN_BREAKER: BreakerSettings = Object.freeze({
  failures: 5,
  windowMs: 30_000,
  cooldownMs: 30_000,
});

export const BUILTIN_STREAM: StreamSettings = Object.freeze({ midStream: 'error' as const });

export const BUILTIN_MAX_ATTEMPTS = 6;

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

// ---------------------------------------------------------------------------------------------
// Settings resolution

export function ms(duration: string): number {
  const r = parseDuration(duration);
  if (!r.ok) throw new Error(`internal: invalid duration reached compile: ${r.error}`);
  return r.value;
}

/** The last defined value among layers (lowest precedence first). */
export function pick<L, V>(
  layers: readonly (L | undefined)[],
  get: (layer: L) => V | undefined,
): V | undefined {
  let out: V | undefined;
  for (const layer of layers) {
    if (layer === undefined) continue;
    const v = get(layer);
    if (v !== undefined) out = v;
  }
  return out;
}

export function resolveTimeout(
  layers: readonly (Timeout | undefined)[],
  totalLayers: readonly (Timeout | undefined)[],
) {
  const connect = pick(layers, (t) => t.connect);
  const firstToken = pick(layers, (t) => t.firstToken);
  const idle = pick(layers, (t) => t.idle);
  const total = pick(totalLayers, (t) => t.total);
  return {
    connectMs: connect === undefined ? BUILTIN_TIMEOUT.connectMs : ms(connect),
    firstTokenMs: firstToken === undefined ? BUILTIN_TIMEOUT.firstTokenMs : ms(firstToken),
    idleMs: idle === undefined ? BUILTIN_TIMEOUT.idleMs : ms(idle),
    totalMs: total === undefined ? BUILTIN_TIMEOUT.totalMs : ms(total),
  } satisfies TimeoutSettings;
}

export function resolveRetry(layers: readonly (Retry | undefined)[]): RetrySettings {
  const initial = pick(layers, (r) => r.backoff?.initial);
  const max = pick(layers, (r) => r.backoff?.max);
  const respect = pick(layers, (r) => r.respectRetryAfter);
  return {
    attempts: pick(layers, (r) => r.attempts) ?? BUILTIN_RETRY.attempts,
    backoff: {
      initialMs: initial === undefined ? BUILTIN_RETRY.backoff.initialMs : ms(initial),
      maxMs: max === undefined ? BUILTIN_RETRY.backoff.maxMs : ms(max),
      multiplier: pick(layers, (r) => r.backoff?.multiplier) ?? BUILTIN_RETRY.backoff.multiplier,
      jitter: pick(layers, (r) => r.backoff?.jitter) ?? BUILTIN_RETRY.backoff.jitter,
    },
    respectRetryAfterMs: respect === undefined ? BUILTIN_RETRY.respectRetryAfterMs : ms(respect),
    retryOn: pick(layers, (r) => r.retryOn) ?? BUILTIN_RETRY.retryOn,
    fallbackOn: pick(layers, (r) => r.fallbackOn) ?? BUILTIN_RETRY.fallbackOn,
  };
}

export function resolveBreaker(layers: readonly (Breaker | undefined)[]): BreakerSettings {
  const enabled = pick(layers, (b) => b.enabled) ?? true;
  const window = pick(layers, (b) => b.window);
  const cooldown = pick(layers, (b) => b.cooldown);
  return {
    failures: enabled ? (pick(layers, (b) => b.failures) ?? BUILTIN_BREAKER.failures) : 0,
    windowMs: window === undefined ? BUILTIN_BREAKER.windowMs : ms(window),
    cooldownMs: cooldown === undefined ? BUILTIN_BREAKER.cooldownMs : ms(cooldown),
  };
}

// ---------------------------------------------------------------------------------------------
// Freezing

function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('compiled policy maps are read-only');
  };
  Object.defineProperty(map, 'set', { value: refuse });
  Object.defineProperty(map, 'delete', { value: refuse });
  Object.defineProperty(map, 'clear', { value: refuse });
  for (const [k, v] of map) {
    deepFreeze(k);
    deepFreeze(v);
  }
  return Object.freeze(map);
}

/** Freezes plain objects, arrays and Maps reachable from `value` (functions and RegExps stay as they are). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    freezeMap(value);
    return value;
  }
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}
