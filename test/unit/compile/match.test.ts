import { describe, expect, it } from 'vitest';
import { compileWhen, describeMismatch, globToRegExp } from '../../../engine/match/match.js';
import type { When } from '../../../engine/policy/types.generated.js';
import { makeContext } from './helpers.js';

const holds = (when: When, over: Parameters<typeof makeContext>[0] = {}) =>
  compileWhen(when)(makeContext(over));

describe('compileWhen: fields', () => {
  it('model, path, tenant, stream, tools, input.tokens, input.chars', () => {
    expect(holds({ model: 'gpt-5' })).toBe(true);
    expect(holds({ model: 'gpt-4' })).toBe(false);
    expect(holds({ path: '/v1/embeddings' }, { path: '/v1/embeddings' })).toBe(true);
    expect(holds({ tenant: 'acme' }, { tenant: 'acme' })).toBe(true);
    expect(holds({ stream: true }, { stream: true })).toBe(true);
    expect(holds({ stream: true })).toBe(false);
    expect(holds({ tools: false })).toBe(true);
    expect(holds({ 'input.tokens': 10 })).toBe(true);
    expect(holds({ 'input.chars': { gt: 20 } })).toBe(true);
  });

  it('a null tenant never equals, and an empty model is absent', () => {
    expect(holds({ tenant: 'null' })).toBe(false);
    expect(holds({ tenant: { exists: false } })).toBe(true);
    expect(holds({ model: '' }, { model: '' })).toBe(false);
    expect(holds({ model: { exists: false } }, { model: '' })).toBe(true);
  });

  it('label, header (case-insensitive name), metadata, body', () => {
    expect(holds({ 'label.tier': 'paid' }, { labels: { tier: 'paid' } })).toBe(true);
    expect(holds({ 'header.X-Team': 'red' }, { headers: { 'x-team': 'red' } })).toBe(true);
    expect(holds({ 'metadata.task': 'chat' }, { metadata: { task: 'chat' } })).toBe(true);
    expect(holds({ 'body.temperature': 0.2 }, { body: { temperature: 0.2 } })).toBe(true);
    expect(holds({ 'body.user': 'bob' }, { body: { user: 'bob' } })).toBe(true);
  });

  it('inherited members of Object.prototype are never fields', () => {
    expect(holds({ 'metadata.constructor': { exists: true } })).toBe(false);
    expect(holds({ 'body.toString': { exists: true } })).toBe(false);
    expect(holds({ 'header.__proto__': { exists: true } })).toBe(false);
  });

  it('equality compares string forms; numbers compare numerically', () => {
    expect(holds({ 'metadata.priority': 1 }, { metadata: { priority: '1' } })).toBe(true);
    expect(holds({ 'body.max_tokens': '100' }, { body: { max_tokens: 100 } })).toBe(true);
    expect(holds({ 'body.temperature': { lte: 0.2 } }, { body: { temperature: 0.2 } })).toBe(true);
    expect(holds({ 'metadata.priority': { gt: 2 } }, { metadata: { priority: '3' } })).toBe(true);
    expect(holds({ 'metadata.priority': { gt: 2 } }, { metadata: { priority: 'high' } })).toBe(false);
    expect(holds({ 'metadata.priority': { lt: 2 } }, { metadata: { priority: '' } })).toBe(false);
  });

  it('a body object or array is present but equals nothing', () => {
    const body = { response_format: { type: 'json_object' }, tags: ['a'] };
    expect(holds({ 'body.response_format': { exists: true } }, { body })).toBe(true);
    expect(holds({ 'body.tags': 'a' }, { body })).toBe(false);
    expect(holds({ 'body.tags': { glob: '*' } }, { body })).toBe(false);
    expect(holds({ 'body.seed': { exists: false } }, { body: { seed: null } })).toBe(true);
  });
});

describe('compileWhen: operators', () => {
  it('in', () => {
    expect(holds({ model: { in: ['gpt-5', 'default'] } })).toBe(true);
    expect(holds({ model: { in: ['o3'] } })).toBe(false);
    expect(holds({ 'input.tokens': { in: [5, 10] } })).toBe(true);
  });

  it('glob is anchored; * any run, ? one character; other characters literal', () => {
    expect(holds({ model: { glob: 'gpt-*' } })).toBe(true);
    expect(holds({ model: { glob: 'gpt-?' } })).toBe(true);
    expect(holds({ model: { glob: 'gpt' } })).toBe(false);
    expect(holds({ model: { glob: 'g.t-5' } })).toBe(false);
    expect(globToRegExp('a.b*(c)').test('a.bxx(c)')).toBe(true);
    expect(globToRegExp('a-[b]').test('a-[b]')).toBe(true);
  });

  it('regex is unanchored and honours a leading (?i)', () => {
    expect(holds({ model: { regex: 'pt-\\d' } })).toBe(true);
    expect(holds({ model: { regex: '(?i)GPT' } })).toBe(true);
    expect(holds({ model: { regex: 'GPT' } })).toBe(false);
  });

  it('gt, gte, lt, lte', () => {
    expect(holds({ 'input.tokens': { gt: 9, lt: 11 } })).toBe(true);
    expect(holds({ 'input.tokens': { gte: 10, lte: 10 } })).toBe(true);
    expect(holds({ 'input.tokens': { gt: 10 } })).toBe(false);
    expect(holds({ model: { gt: 1 } })).toBe(false);
  });

  it('exists', () => {
    expect(holds({ 'metadata.task': { exists: true } }, { metadata: { task: '' } })).toBe(true);
    expect(holds({ 'metadata.task': { exists: false } })).toBe(true);
    expect(holds({ 'metadata.task': { exists: true } })).toBe(false);
  });

  it('several operators must all hold, an absent field fails them', () => {
    expect(holds({ model: { glob: 'gpt-*', in: ['gpt-5'] } })).toBe(true);
    expect(holds({ model: { glob: 'gpt-*', in: ['gpt-4'] } })).toBe(false);
    expect(holds({ 'metadata.x': { lt: 100 } })).toBe(false);
  });
});

describe('compileWhen: combinators', () => {
  it('several keys are all; all, any, not', () => {
    expect(holds({ model: 'gpt-5', stream: false })).toBe(true);
    expect(holds({ model: 'gpt-5', stream: true })).toBe(false);
    expect(holds({ all: [{ model: 'gpt-5' }, { tools: false }] })).toBe(true);
    expect(holds({ any: [{ model: 'o3' }, { tools: false }] })).toBe(true);
    expect(holds({ any: [{ model: 'o3' }, { tools: true }] })).toBe(false);
    expect(holds({ not: { model: 'o3' } })).toBe(true);
    expect(holds({ not: { model: 'gpt-5' } })).toBe(false);
  });

  it('no when matches everything', () => {
    expect(compileWhen(undefined)(makeContext())).toBe(true);
  });
});

describe('describeMismatch', () => {
  it('names the first failing condition with the value seen and wanted', () => {
    expect(describeMismatch({ model: { in: ['gpt-5', 'default'] } }, makeContext({ model: 'gpt-4o' }))).toBe(
      'model is "gpt-4o", wanted one of [gpt-5, default]',
    );
    expect(describeMismatch({ tenant: 'acme' }, makeContext())).toBe('tenant is absent, wanted "acme"');
    expect(describeMismatch({ 'input.tokens': { gt: 100000 } }, makeContext())).toBe(
      'input.tokens is 10, wanted > 100000',
    );
    expect(describeMismatch({ 'header.X-Team': 'red' }, makeContext())).toBe(
      'header.x-team is absent, wanted "red"',
    );
  });

  it('explains any and not, and is empty when the when holds', () => {
    expect(describeMismatch({ any: [{ model: 'a' }, { model: 'b' }] }, makeContext())).toMatch(
      /^none of "any" held/,
    );
    expect(describeMismatch({ not: { model: 'gpt-5' } }, makeContext())).toMatch(/^"not" condition held/);
    expect(describeMismatch({ model: 'gpt-5' }, makeContext())).toBe('');
    expect(describeMismatch(undefined, makeContext())).toBe('');
  });
});
