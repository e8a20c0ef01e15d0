/**
 * End to end: `createEngine(...).handle()` passes an upstream 400 (and a content-policy refusal)
 * on to the caller as the provider sent it (docs/design.md §2), except for the credentials a
 * misbehaving upstream echoed into it. The upstream quotes the `Authorization` header it got.
 */
import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../../engine/providers/scrub.js';
import type { RecordedRequest } from '../../support/upstream.js';
import { asJson, chatBody, engineFor, outcomes, useExecutionUpstream } from './helpers.js';

/** The key helpers.ts configures on provider `up`. */
const KEY = 'sk-upstream-test';

const upstream = useExecutionUpstream();

function authorization(req: RecordedRequest): string {
  const value = req.headers.authorization;
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

describe('upstream errors passed through to the caller', () => {
  it.each([
    {
      what: 'a 400',
      code: 'invalid_value',
      message: (auth: string) => `Invalid 'temperature' (request authorization: ${auth})`,
      outcome: 'bad_request',
    },
    {
      what: 'a content-policy refusal',
      code: 'content_policy_violation',
      message: (auth: string) => `Your request was rejected as a result of our safety system. [${auth}]`,
      outcome: 'content_policy',
    },
  ])('$what echoing the Authorization header reaches the caller without the key', async (c) => {
    const engine = engineFor({ url: upstream.url });

    for (const stream of [false, true]) {
      upstream.reset();
      upstream.setHandler((req) => ({
        kind: 'status',
        status: 400,
        body: {
          error: {
            message: c.message(authorization(req)),
            type: 'invalid_request_error',
            param: authorization(req),
            code: c.code,
          },
        },
      }));
      const res = asJson(await engine.handle({ body: chatBody({ stream }) }));

      // The upstream did get (and echo) the key; the caller gets the provider's error without it.
      expect(authorization(upstream.requests[0])).toBe(`Bearer ${KEY}`);
      expect(res.status).toBe(400);
      expect(outcomes(res.meta)).toEqual([`primary:${c.outcome}`]);
      const error = (res.body as { error: Record<string, unknown> }).error;
      expect(error.code).toBe(c.code);
      expect(String(error.message).startsWith(c.message('').slice(0, 20))).toBe(true);
      expect(error.message).toContain(REDACTED);
      expect(error.param).toBe(`Bearer ${REDACTED}`);
      expect(JSON.stringify(res)).not.toContain(KEY);
    }
  });
});
