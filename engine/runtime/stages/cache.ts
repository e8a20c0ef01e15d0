/**
 * Stage `cache`: the route's response cache. A request the cache's `when` does not match, or one
 * with `Cache-Control: no-cache`, bypasses the read; otherwise a stored answer is served (a
 * streamed request gets it replayed as a stream) and concurrent identical misses wait on one
 * upstream call (single flight; a waiter whose leader failed runs on its own, one whose leader
 * takes longer than its own deadline gets a 504). Only complete successful answers are stored,
 * never with `no-store`; the store and the hand-over to waiters happen in the accounting stage,
 * through this stage's hold. `x-switchyard-cache: hit|miss|bypass` is on every answer of a route
 * with a cache. A hit costs no tokens and no spend.
 *
 * Layers (`cache: [exact, semantic]`): the exact cache runs first; on its miss the semantic layer
 * embeds the prompt (engine/runtime/embedder.ts), searches the request's partition of the
 * semantic index (tenant and the cache's other key fields) and serves the most similar stored
 * answer at or above the threshold, with `x-switchyard-cache-similarity`. The same directives
 * apply (`no-cache` skips the read, `no-store` the write); a request with an `Idempotency-Key`,
 * a non-text or tool-call message, or a prompt too long to embed bypasses the semantic layer. An
 * upstream answer is stored in both layers; a semantic hit is stored in neither (its answer is
 * already stored, and re-storing would extend its life past its TTL). The embedding's cost is
 * the request's cost even on a hit. An embedding failure is a miss, never an error. There is no
 * single flight in the semantic layer: concurrent near-duplicates each go upstream.
 */
import { copyJson, isCompleteChatCompletion, toCachedAnswer } from '../../cache/answer.js';
import type { CompiledCache } from '../../cache/compile.js';
import { cacheDirectives, hashCacheKey } from '../../cache/keys.js';
import { normalizeVector } from '../../cache/semantic-index.js';
import { semanticText } from '../../cache/semantic-text.js';
import type { CachedAnswer, CacheStore } from '../../cache/store.js';
import { replayStream, StreamAssembler, wantsUsage } from '../../cache/stream.js';
import type { CompiledRoute } from '../../compile/compile.js';
import { toOpenAIUsage } from '../../shared/usage.js';
import type { EngineResponse, ReadyFrames, RequestContext, ResponseMeta } from '../../types.js';
import { embed } from '../embedder.js';
import type { NamedStage, Next } from '../pipeline.js';
import type { RequestScope } from '../scope.js';
import { safely, type Traffic } from '../traffic-state.js';
import { errorAnswer, scopeHeaders, scopeMeta } from './answer.js';

/** The response header with a semantic hit's similarity (four decimals). */
export const SIMILARITY_HEADER = 'x-switchyard-cache-similarity';

/**
 * The stream frames of shared (frozen) cache entries, made on an entry's first streamed hit, with
 * and without the usage chunk: every later hit of the entry serves the same frozen list.
 */
const framesByEntry = new WeakMap<
  CachedAnswer,
  { usage?: readonly string[] | null; plain?: readonly string[] | null }
>();

function sharedFrames(answer: CachedAnswer, includeUsage: boolean): readonly string[] | null {
  let memo = framesByEntry.get(answer);
  if (memo === undefined) {
    memo = {};
    framesByEntry.set(answer, memo);
  }
  const known = includeUsage ? memo.usage : memo.plain;
  if (known !== undefined) return known;
  const made = replayStream(answer, { includeUsage });
  const frames = made === null ? null : Object.freeze(made);
  if (includeUsage) memo.usage = frames;
  else memo.plain = frames;
  return frames;
}

/** A single-flight waiter's own deadline passed before its leader answered. */
const TIMED_OUT: unique symbol = Symbol('timed out');

function noop(): void {}

/**
 * The frames of a cached answer as an async iterator: each step a resolved promise, not an async
 * generator's queue and awaits. `return` and `throw` end it, as they end a generator. A reader
 * that wants them all may take them at once (ReadyFrames).
 */
function fromArray(frames: readonly string[]): AsyncIterableIterator<string> & ReadyFrames {
  let i = 0;
  const iterator: AsyncIterableIterator<string> & ReadyFrames = {
    takeFrames: () => {
      const rest = i === 0 ? frames : frames.slice(i);
      i = frames.length;
      return rest;
    },
    next: () =>
      Promise.resolve<IteratorResult<string>>(
        i < frames.length ? { value: frames[i++], done: false } : { value: undefined, done: true },
      ),
    return: (value?: unknown) => {
      i = frames.length;
      return Promise.resolve({ value, done: true });
    },
    throw: (error?: unknown) => {
      i = frames.length;
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

const NO_FRAMES: readonly string[] = [];

/**
 * {@link fromArray} of frames made when first read (a `return` or `throw` first ends it unmade).
 * For a caller that only reads answers (`readOnlyAnswers`: replay, which never reads a hit's
 * frames): making them, a `JSON.stringify` per chunk kept with the entry, was a sixth of what
 * outlived a young-generation collection in a replay.
 */
function madeOnRead(make: () => readonly string[]): AsyncIterableIterator<string> & ReadyFrames {
  let frames: (AsyncIterableIterator<string> & ReadyFrames) | null = null;
  const made = (): AsyncIterableIterator<string> & ReadyFrames => {
    frames ??= fromArray(make());
    return frames;
  };
  const iterator: AsyncIterableIterator<string> & ReadyFrames = {
    takeFrames: () => made().takeFrames(),
    next: () => made().next(),
    return: (value?: unknown) => {
      frames ??= fromArray(NO_FRAMES);
      return frames.return?.(value) as Promise<IteratorResult<string>>;
    },
    throw: (error?: unknown) => {
      frames ??= fromArray(NO_FRAMES);
      return frames.throw?.(error) as Promise<IteratorResult<string>>;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/**
 * Feeds every frame to the assembler on its way to the caller. An explicit iterator, not a
 * generator: `return()` before the first `next()` must still reach the attempt loop's iterator
 * (which then releases upstream and resolves `done`).
 */
function tap(events: AsyncIterable<string>, assembler: StreamAssembler): AsyncGenerator<string> {
  const inner = events[Symbol.asyncIterator]();
  const iterator: AsyncGenerator<string> = {
    async next() {
      const step = await inner.next();
      // The attempt loop writes one `data:` line per frame.
      if (step.done !== true && step.value.startsWith('data: '))
        assembler.pushData(step.value.slice(6).trimEnd());
      return step;
    },
    async return(value: unknown) {
      if (inner.return !== undefined) await inner.return();
      return { done: true, value };
    },
    async throw(error: unknown) {
      if (inner.throw !== undefined) return inner.throw(error);
      if (inner.return !== undefined) await inner.return();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** The answer to store once the request is complete, or null when it must not be stored. */
function completeAnswer(held: Held, meta: ResponseMeta | null, now: number): CachedAnswer | null {
  const response = held.response;
  if (meta === null || meta.target === null || response === null) return null;
  if (response.kind === 'json')
    return response.status === 200 ? toCachedAnswer(response.body, meta.target, now) : null;
  // Only a stream that ended with [DONE] and a finish reason on every choice is complete.
  if (held.assembler?.done !== true) return null;
  const body = held.assembler.result();
  if (body === null) return null;
  if (body.usage === undefined && meta.usage !== null) body.usage = { ...toOpenAIUsage(meta.usage) };
  return toCachedAnswer(body, meta.target, now);
}

/** Runs `next`, keeping its answer (a stream through an assembler) for `completeAnswer`. */
async function capture(scope: RequestScope, next: Next, held: Held): Promise<EngineResponse> {
  const response = await next(scope);
  held.response = response;
  if (response.kind === 'json') return response;
  const assembler = new StreamAssembler();
  held.assembler = assembler;
  return { ...response, events: tap(response.events, assembler) };
}

interface CacheUse {
  readonly cache: CompiledCache;
  readonly store: CacheStore;
  readonly key: string;
  readonly write: boolean;
}

/** What the accounting stage needs to store and share the answer once it is complete. */
interface Held {
  /** Set for the leader of a single flight: hands its answer (or null) to the waiters. */
  share: ((answer: CachedAnswer | null) => void) | null;
  response: EngineResponse | null;
  assembler: StreamAssembler | null;
}

/**
 * `readOnly`: the caller never changes an answer (the engine's `readOnlyAnswers`): a hit served
 * from a shared entry hands out the entry's frozen body and usage themselves, not copies.
 */
export function cacheStage(traffic: Traffic, readOnly = false): NamedStage {
  const clock = traffic.clock;
  const hooks = traffic.hooks;

  /**
   * `shared`: the answer is a store's own frozen entry (`getShared`), read by every hit: a JSON
   * body is copied for the caller to own (unless the caller only reads), a stream's frames are
   * made once per entry.
   */
  const serveHit = (scope: RequestScope, answer: CachedAnswer, shared: boolean): EngineResponse | null => {
    const ctx = scope.context;
    if (ctx === null) return null;
    const headers = scopeHeaders(scope, { 'x-switchyard-target': answer.target });
    // What the caller may keep and change is its own: the entry's usage and body are frozen.
    const copy = shared && !readOnly;
    const usage = copy && answer.usage !== null ? { ...answer.usage } : answer.usage;
    const meta = scopeMeta(scope, clock.now(), { target: answer.target, usage });
    let hit: EngineResponse;
    if (!ctx.stream) {
      const body = copy ? copyJson(answer.body) : answer.body;
      hit = { kind: 'json', status: 200, headers, body, meta };
    } else {
      const includeUsage = wantsUsage(ctx.body);
      let events: AsyncIterableIterator<string> & ReadyFrames;
      if (shared && readOnly) {
        // The entry's frames when read, if ever: `sharedFrames` is null exactly when this is.
        if (!isCompleteChatCompletion(answer.body)) return null;
        events = madeOnRead(() => sharedFrames(answer, includeUsage) as readonly string[]);
      } else {
        const frames = shared ? sharedFrames(answer, includeUsage) : replayStream(answer, { includeUsage });
        if (frames === null) return null; // not a chat completion: serve the streamed request upstream
        events = fromArray(frames);
      }
      headers['content-type'] = 'text/event-stream';
      hit = {
        kind: 'stream',
        status: 200,
        headers,
        events,
        done: Promise.resolve(meta),
        meta,
      };
    }
    scope.cache = 'hit';
    scope.setHeader('x-switchyard-cache', 'hit');
    return hit;
  };

  /**
   * A waiter's wait for its leader, bounded by the waiter's own route deadline: a leader whose
   * answer never comes (a stream nobody reads) must not hold the waiters forever.
   */
  const waitForLeader = async (
    flight: Promise<CachedAnswer | null>,
    deadline: number,
  ): Promise<CachedAnswer | null | typeof TIMED_OUT> => {
    const cancel = new AbortController();
    const timer = clock.sleep(Math.max(0, deadline - clock.now()), cancel.signal).then(
      (): typeof TIMED_OUT => TIMED_OUT,
      // Cancelled once the flight settled: this branch never wins the race.
      () => new Promise<never>(noop),
    );
    try {
      return await Promise.race([flight, timer]);
    } finally {
      cancel.abort();
    }
  };

  /** A stored answer served, with its hook; null when it cannot be (serve the request as a miss). */
  const hitOf = (
    scope: RequestScope,
    use: CacheUse,
    route: string,
    stored: CachedAnswer,
    shared: boolean,
  ): EngineResponse | null => {
    const hit = serveHit(scope, stored, shared);
    if (hit !== null)
      safely(hooks.onCache, { outcome: 'hit', route, cache: use.cache.name, coalesced: false });
    return hit;
  };

  /**
   * A stored answer, or one shared by the leader of a concurrent identical miss; null to go
   * upstream (the caller is then the leader, holding the flight, or its leader failed).
   */
  const lookup = async (
    scope: RequestScope,
    use: CacheUse,
    route: string,
    held: Held,
  ): Promise<EngineResponse | null> => {
    const stored = await use.store.get(use.key, scope.startedAt);
    if (stored !== undefined) {
      const hit = hitOf(scope, use, route, stored, false);
      if (hit !== null) return hit;
    }
    return joinFlight(scope, use, route, held);
  };

  /**
   * Joins the key's single flight: null when this request leads it (it goes upstream, and hands
   * its answer over through `held.share`), else the wait for the leader's answer.
   */
  const joinFlight = (
    scope: RequestScope,
    use: CacheUse,
    route: string,
    held: Held,
  ): Promise<EngineResponse | null> | null => {
    let leader = false;
    let share: (answer: CachedAnswer | null) => void = noop;
    // The leader's part takes no signal (its answer comes through `share`): nothing to cancel.
    const flight = traffic.flights.join(
      use.key,
      () => {
        leader = true;
        return new Promise<CachedAnswer | null>((resolve) => {
          share = resolve;
        });
      },
      { signal: scope.signal },
    );
    if (leader) {
      flight.catch(noop); // the leader's own abort; the waiters still get its answer
      held.share = share;
      return null;
    }
    return followLeader(scope, use, route, flight);
  };

  /** A waiter's answer: the leader's (a hit), a 504 past its own deadline, or null to go upstream. */
  const followLeader = async (
    scope: RequestScope,
    use: CacheUse,
    route: string,
    flight: Promise<CachedAnswer | null>,
  ): Promise<EngineResponse | null> => {
    let answer: CachedAnswer | null;
    try {
      const deadline = scope.startedAt + Math.max(0, scope.routed?.timeout.totalMs ?? 0);
      const waited = await waitForLeader(flight, deadline);
      if (waited === TIMED_OUT)
        return errorAnswer(scope, 'upstream_timeout', clock.now(), { params: { lastClass: 'timeout' } });
      answer = waited;
    } catch (error) {
      if (scope.aborted) throw error;
      answer = null;
    }
    if (answer === null) return null;
    const hit = serveHit(scope, answer, false);
    if (hit !== null)
      safely(hooks.onCache, { outcome: 'hit', route, cache: use.cache.name, coalesced: true });
    return hit;
  };

  /**
   * What the request holds until its answer is complete: the single flight it leads (waiters get
   * the answer, or null to run on their own) and the right to store a complete answer.
   */
  const holdAnswer = (scope: RequestScope, use: CacheUse, route: string, held: Held): void => {
    scope.hold({
      settle: (meta) => {
        const now = clock.now();
        // A semantic layer's hit: its waiters run on their own (and are served by that layer).
        const answer = scope.cacheSimilarity === null ? completeAnswer(held, meta, now) : null;
        held.share?.(answer);
        if (answer === null || !use.write) return;
        return use.store
          .set(use.key, answer, use.cache.ttlMs, now)
          .then(() =>
            safely(hooks.onCache, { outcome: 'stored', route, cache: use.cache.name, coalesced: false }),
          );
      },
    });
  };

  /**
   * The exact cache. A store that answers at once (`getShared`: in-process) is read without a
   * promise, so a hit, and a miss that leads its flight, cost no await here (nor a parse or a copy
   * of what the hit only reads); another store is awaited. Either way the same reads, in the same
   * order, with the same outcome.
   */
  const cached = (
    scope: RequestScope,
    next: Next,
    cache: CompiledCache,
    ctx: RequestContext,
    route: CompiledRoute,
  ): Promise<EngineResponse> => {
    let use: CacheUse | null = null;
    let outcome: 'miss' | 'bypass' = 'bypass';
    if (cache.applies(ctx)) {
      const directives = cacheDirectives(ctx);
      use = {
        cache,
        store: traffic.stores.cacheStore(cache, scope.policy.redisUrl),
        key: cache.keyFor(ctx, route.name, directives),
        write: directives.write,
      };
      if (directives.read) outcome = 'miss';
    }
    scope.cache = outcome;
    scope.setHeader('x-switchyard-cache', outcome);
    const held: Held = { share: null, response: null, assembler: null };
    if (use !== null && outcome === 'miss') {
      const store = use.store;
      if (store.getShared === undefined) return lookupThenMiss(scope, next, cache, use, route, held);
      const stored = store.getShared(use.key, scope.startedAt);
      if (stored !== undefined) {
        const hit = hitOf(scope, use, route.name, stored, true);
        if (hit !== null) return Promise.resolve(hit);
      }
      const waiting = joinFlight(scope, use, route.name, held);
      if (waiting !== null) return waitThenMiss(waiting, scope, next, cache, use, route, held);
    }
    return miss(scope, next, cache, use, outcome, route, held);
  };

  // The store's answer is awaited like a coalesced one: served when it came, else a miss.
  const lookupThenMiss = (
    scope: RequestScope,
    next: Next,
    cache: CompiledCache,
    use: CacheUse,
    route: CompiledRoute,
    held: Held,
  ): Promise<EngineResponse> =>
    waitThenMiss(lookup(scope, use, route.name, held), scope, next, cache, use, route, held);

  const waitThenMiss = async (
    waiting: Promise<EngineResponse | null>,
    scope: RequestScope,
    next: Next,
    cache: CompiledCache,
    use: CacheUse,
    route: CompiledRoute,
    held: Held,
  ): Promise<EngineResponse> => {
    const served = await waiting;
    if (served !== null) return served;
    return miss(scope, next, cache, use, 'miss', route, held);
  };

  /** Not served from the cache: upstream, holding the answer to store (and share) when it may be. */
  const miss = (
    scope: RequestScope,
    next: Next,
    cache: CompiledCache,
    use: CacheUse | null,
    outcome: 'miss' | 'bypass',
    route: CompiledRoute,
    held: Held,
  ): Promise<EngineResponse> => {
    safely(hooks.onCache, { outcome, route: route.name, cache: cache.name, coalesced: false });
    if (use === null || (!use.write && held.share === null)) return next(scope);
    holdAnswer(scope, use, route.name, held);
    return capture(scope, next, held);
  };

  /**
   * The semantic layer. `layered`: an exact layer ran before it (and set the outcome, which this
   * layer then only changes when it applies).
   */
  const semanticLayer = async (
    scope: RequestScope,
    next: Next,
    cache: CompiledCache,
    ctx: RequestContext,
    route: CompiledRoute,
    layered: boolean,
  ): Promise<EngineResponse> => {
    const settings = cache.semantic;
    const directives = cacheDirectives(ctx);
    const model = settings === null ? undefined : scope.policy.models.get(settings.embedding);
    const text =
      settings === null ||
      model === undefined ||
      ctx.endpoint !== 'chat' ||
      directives.idempotencyKey !== null ||
      (!directives.read && !directives.write) ||
      !cache.applies(ctx)
        ? null
        : semanticText(ctx.body);
    if (text === null || settings === null || model === undefined) {
      if (!layered) {
        scope.cache = 'bypass';
        scope.setHeader('x-switchyard-cache', 'bypass');
        safely(hooks.onCache, { outcome: 'bypass', route: route.name, cache: cache.name, coalesced: false });
      }
      return next(scope);
    }
    const outcome = directives.read ? 'miss' : 'bypass';
    scope.cache = outcome;
    scope.setHeader('x-switchyard-cache', outcome);
    const embedded = await embed({
      model,
      provider: scope.snapshot.providers.get(model.provider),
      text,
      dimensions: settings.dimensions,
      timeoutMs: settings.embeddingTimeoutMs,
      clock,
      signal: scope.signal,
      // Names the request the call is for (replay answers it from the recorded pairs).
      for: ctx.body,
    });
    if (embedded.ok) {
      scope.extraCostUsd += embedded.costUsd;
      // Recorded: replay prices its own embedding call with the tokens the model counted.
      if (embedded.usage !== null) scope.cacheEmbeddingTokens = embedded.usage.promptTokens;
    }
    const vector = embedded.ok ? normalizeVector(embedded.vector) : null;
    if (vector === null) {
      if (scope.aborted) throw scope.signal?.reason;
      safely(hooks.onCache, {
        outcome: 'embedding_failed',
        route: route.name,
        cache: cache.name,
        coalesced: false,
      });
      return next(scope);
    }
    // The embedding model's upstream identity is part of the partition: vectors of two models
    // (a reload that points the name elsewhere) are never compared.
    // Hashed: the partition is kept with each of the index's entries.
    const partition = `${hashCacheKey(cache.keyOf(ctx, route.name))}\u0000${model.provider}\u0000${model.upstreamModel}`;
    const index = traffic.stores.semanticIndex(cache);
    if (directives.read) {
      const found = index.search(partition, vector, settings.threshold, scope.startedAt);
      if (found !== undefined) {
        scope.cacheSimilarity = found.similarity;
        scope.cacheSource = found.source;
        const hit = serveHit(scope, found.answer, false);
        if (hit !== null) {
          scope.setHeader(SIMILARITY_HEADER, found.similarity.toFixed(4));
          safely(hooks.onCache, { outcome: 'hit', route: route.name, cache: cache.name, coalesced: false });
          return hit;
        }
        scope.cacheSimilarity = null;
        scope.cacheSource = null;
      }
    }
    safely(hooks.onCache, { outcome, route: route.name, cache: cache.name, coalesced: false });
    if (!directives.write) return next(scope);
    const held: Held = { share: null, response: null, assembler: null };
    scope.hold({
      settle: (meta) => {
        const now = clock.now();
        const answer = completeAnswer(held, meta, now);
        if (answer === null || !index.add(partition, vector, answer, cache.ttlMs, now, scope.requestId))
          return;
        safely(hooks.onCache, { outcome: 'stored', route: route.name, cache: cache.name, coalesced: false });
      },
    });
    return capture(scope, next, held);
  };

  return {
    name: 'cache',
    // Not async itself: a route without a cache passes straight through (no promise of its own).
    run: (scope, next) => {
      const cache = scope.route?.traffic?.cache ?? null;
      const semantic = scope.route?.traffic?.semanticCache ?? null;
      const ctx = scope.context;
      const route = scope.route;
      if ((cache === null && semantic === null) || ctx === null || route === null) return next(scope);
      if (semantic === null) return cached(scope, next, cache as CompiledCache, ctx, route);
      const inner: Next = (s) => semanticLayer(s, next, semantic, ctx, route, cache !== null);
      return cache === null ? inner(scope) : cached(scope, inner, cache, ctx, route);
    },
  };
}
