/**
 * Budget alerts delivered to a webhook (a budget's `alerts: { webhook, headers }`).
 *
 * Off the request path: `enqueue` only pushes onto a bounded queue (a full queue drops the alert
 * and says so in the log and the outcome metric); a few workers `POST` the JSON body, each attempt
 * bounded by a timeout, and retry a failure (network error, timeout, 408, 429, 5xx) with
 * exponential backoff up to `maxAttempts`. A 4xx other than 408/429 is not retried: the receiver
 * refused the alert and will refuse it again. Once-per-threshold-per-period is decided upstream
 * (the budget store reports each crossing to exactly one record, across replicas sharing Redis);
 * this module delivers what it is given, at least once per `enqueue` as long as the receiver comes
 * back within the retry window.
 *
 * The retry loop is written by hand (a dozen lines): it needs a per-attempt abort, a shutdown
 * signal that cuts the backoff sleep, and a retry/no-retry decision on the HTTP status, which a
 * generic retry package would need wrapping for anyway.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { BudgetAlertEvent } from '../engine/index.js';
import type { Logger } from './logging.js';

export type AlertDeliveryOutcome = 'delivered' | 'failed' | 'dropped';

export interface AlertWebhookOptions {
  readonly log: Logger;
  /** Alerts waiting or in delivery; beyond this, new ones are dropped (default 1000). */
  readonly maxQueue?: number;
  /** Attempts per alert, the first included (default 5). */
  readonly maxAttempts?: number;
  /** First retry delay; doubles each retry up to `maxDelayMs` (defaults 1 s and 60 s). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Per attempt, connect to response headers (default 10 s). */
  readonly timeoutMs?: number;
  /** Deliveries in flight at once (default 4). */
  readonly concurrency?: number;
  readonly onOutcome?: (outcome: AlertDeliveryOutcome, event: BudgetAlertEvent) => void;
  /** For tests. */
  readonly fetch?: typeof fetch;
}

/** The JSON body `POST`ed to the webhook. */
export function alertBody(event: BudgetAlertEvent): Record<string, unknown> {
  return {
    type: 'budget_alert',
    kind: event.kind,
    budget: event.budget,
    key: event.key,
    period: event.period,
    periodStart: new Date(event.periodStartMs).toISOString(),
    periodEnd: new Date(event.resetAtMs).toISOString(),
    threshold: event.threshold,
    spentUsd: event.spentUsd,
    limitUsd: event.limitUsd,
    policy: { name: event.policy.name, version: event.policy.version, hash: event.policy.hash },
    at: new Date(event.at).toISOString(),
  };
}

class PermanentFailure extends Error {}

export class AlertWebhookSender {
  readonly #log: Logger;
  readonly #maxQueue: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #onOutcome: AlertWebhookOptions['onOutcome'];
  readonly #fetch: typeof fetch;
  readonly #queue: BudgetAlertEvent[] = [];
  readonly #stop = new AbortController();
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(options: AlertWebhookOptions) {
    this.#log = options.log;
    this.#maxQueue = options.maxQueue ?? 1000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#baseDelayMs = options.baseDelayMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#onOutcome = options.onOutcome;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Alerts queued or in delivery. */
  get pending(): number {
    return this.#queue.length + this.#active;
  }

  /** Queues an alert for delivery; never waits. False when dropped (queue full or closed). */
  enqueue(event: BudgetAlertEvent): boolean {
    if (event.webhook === null) return false;
    if (this.#stop.signal.aborted || this.pending >= this.#maxQueue) {
      this.#log.error(
        { budget: event.budget, key: event.key, threshold: event.threshold, webhook: event.webhook },
        `budget alert not delivered: ${this.#stop.signal.aborted ? 'shutting down' : `alert queue full (${this.#maxQueue})`}`,
      );
      this.#onOutcome?.('dropped', event);
      return false;
    }
    this.#queue.push(event);
    this.#pump();
    return true;
  }

  /** Waits for queued alerts up to `graceMs`, then abandons the rest (logged). */
  async close(graceMs = 5000): Promise<void> {
    if (this.pending > 0) {
      const idle = new Promise<void>((resolve) => this.#idle.push(resolve));
      const timer = sleep(graceMs, undefined, { ref: false });
      await Promise.race([idle, timer]);
    }
    this.#stop.abort();
    for (const event of this.#queue.splice(0)) {
      this.#log.error(
        { budget: event.budget, key: event.key, webhook: event.webhook },
        'budget alert not delivered: shut down',
      );
      this.#onOutcome?.('dropped', event);
    }
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queue.length > 0) {
      const event = this.#queue.shift() as BudgetAlertEvent;
      this.#active++;
      void this.#deliver(event).finally(() => {
        this.#active--;
        this.#pump();
        if (this.pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  async #deliver(event: BudgetAlertEvent): Promise<void> {
    const webhook = event.webhook;
    if (webhook === null) return;
    const body = JSON.stringify(alertBody(event));
    let lastError = '';
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      try {
        await this.#post(webhook.url, webhook.headers, body);
        this.#onOutcome?.('delivered', event);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        if (err instanceof PermanentFailure || this.#stop.signal.aborted || attempt === this.#maxAttempts)
          break;
        const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
        try {
          await sleep(delay, undefined, { signal: this.#stop.signal });
        } catch {
          break; // shutting down
        }
      }
    }
    this.#log.error(
      { budget: event.budget, key: event.key, threshold: event.threshold, webhook, error: lastError },
      `budget alert not delivered to the webhook: ${lastError}`,
    );
    this.#onOutcome?.('failed', event);
  }

  async #post(url: string, headers: Readonly<Record<string, string>>, body: string): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#stop.signal]);
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'switchyard-alerts' },
        body,
        signal,
        redirect: 'manual',
      });
    } catch (err) {
      const reason =
        signal.aborted && !this.#stop.signal.aborted ? `timed out after ${this.#timeoutMs}ms` : causeOf(err);
      throw new Error(reason);
    }
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return;
    const message = `the webhook answered ${res.status}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(message);
    throw new PermanentFailure(message);
  }
}

function causeOf(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
