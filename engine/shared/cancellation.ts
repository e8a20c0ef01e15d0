/**
 * One upstream call's cancellation, without an AbortController until someone asks for its
 * signal. The attempt loop cancels every call it gives up on (a deadline, the caller gone, a
 * losing attempt); a network provider reads `signal` (and gets a real AbortSignal, aborted
 * already if the call was), while an in-process one (replay's simulated upstream) can listen with
 * `onAbort` and never make one: an AbortController, its signal and their listener per call were
 * a twentieth of a replay's time.
 *
 * It also speaks the part of the EventEmitter protocol undici accepts as a request's `signal`
 * (`aborted`, `reason`, `on`/`once`/`removeListener` of 'abort'), so the undici transport can be
 * cancelled without an AbortSignal either: the gateway's JSON path made one per upstream call
 * only to hand it to undici.
 */
import type { RequestCancellation } from '../types.js';

function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

export class Cancellation implements RequestCancellation {
  #controller: AbortController | null = null;
  #listeners: ((reason: unknown) => void)[] | null = null;
  #aborted = false;
  #reason: unknown = undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why it was aborted (an AbortError when `abort` was given no reason); undefined until then. */
  get reason(): unknown {
    return this.#reason;
  }

  /** An AbortSignal that follows this cancellation, made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Calls `listener` with the reason when aborted (at once when it is already). Listeners are
   * kept until then: add one per call or per wait, not per loop turn.
   */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.#aborted) listener(this.#reason);
    else if (this.#listeners === null) this.#listeners = [listener];
    else this.#listeners.push(listener);
  }

  /** undici's `signal.once('abort', listener)`; the listener reads `reason` itself. */
  once(_event: 'abort', listener: () => void): this {
    this.onAbort(listener);
    return this;
  }

  /** undici checks that a signal has `on` (an EventEmitter); the same as `once` here. */
  on(event: 'abort', listener: () => void): this {
    return this.once(event, listener);
  }

  /** undici's removal of its listener once the request is over. */
  removeListener(_event: 'abort', listener: () => void): this {
    const listeners = this.#listeners;
    if (listeners === null) return this;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
    return this;
  }

  /** Aborts once (later calls do nothing): the signal, if made, then every listener in order. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? abortError() : reason;
    this.#controller?.abort(this.#reason);
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners !== null) for (const listener of listeners) listener(this.#reason);
  }
}

/**
 * What a request's abort can come from: the caller's AbortSignal, or a cancellation (the gateway
 * hands the engine a Cancellation, so that no AbortSignal is made per request unless something
 * reads it).
 */
export type AbortSource = AbortSignal | RequestCancellation;

function isCancellation(source: AbortSource): source is RequestCancellation {
  return typeof (source as Partial<RequestCancellation>).onAbort === 'function';
}

/**
 * Calls `listener` once when `source` aborts. Like `addEventListener`, never for a source that
 * has aborted already: callers check `aborted` themselves.
 */
export function listenAbort(source: AbortSource, listener: () => void): void {
  if (!isCancellation(source)) source.addEventListener('abort', listener, { once: true });
  else if (!source.aborted) source.onAbort(listener);
}

/** Removes a listener added with {@link listenAbort}. */
export function unlistenAbort(source: AbortSource, listener: () => void): void {
  if (isCancellation(source)) source.removeListener('abort', listener);
  else source.removeEventListener('abort', listener);
}

/** An AbortSignal for `source` (a cancellation's is made on first use), for an API that needs one. */
export function abortSignalOf(source: AbortSource | undefined): AbortSignal | undefined {
  return source === undefined || !isCancellation(source) ? source : source.signal;
}
