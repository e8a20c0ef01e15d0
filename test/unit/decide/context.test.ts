import { describe, expect, it } from 'vitest';
import { createContext, hasImageContent } from '../../../engine/context.js';
import { compileYaml } from '../compile/helpers.js';

const policy = compileYaml(`
tenants:
  acme: { keys: [k-acme], labels: { tier: paid } }
routes: [ { name: r, targets: [fast] } ]
`);

const make = (input: Parameters<typeof createContext>[1], random = () => 0.5) =>
  createContext(policy, input, random);

function ok(input: Parameters<typeof createContext>[1], random?: () => number) {
  const r = make(input, random);
  if (!r.ok) throw new Error(r.message);
  return r.context;
}

describe('createContext', () => {
  it('normalises headers, path, endpoint, model, stream and tools', () => {
    const body = { model: 'gpt-5', stream: true, tools: [{ type: 'function' }] };
    const c = ok({ body, headers: { 'X-Team': 'red', Accept: ['a', 'b'], skip: undefined } });
    expect(c.headers['x-team']).toBe('red');
    expect(c.headers.accept).toBe('a, b');
    expect('skip' in c.headers).toBe(false);
    expect(c.path).toBe('/v1/chat/completions');
    expect(c.endpoint).toBe('chat');
    expect(c.model).toBe('gpt-5');
    expect(c.stream).toBe(true);
    expect(c.tools).toBe(true);
    expect(c.body).toBe(body);
    const e = ok({ body: { model: 3, input: ['abcd', 'efgh'] }, path: '/v1/embeddings?x=1' });
    expect(e.path).toBe('/v1/embeddings');
    expect(e.endpoint).toBe('embeddings');
    expect(e.model).toBe('');
    expect(e.inputChars).toBe(8);
    expect(e.inputTokens).toBe(2);
  });

  it('resolves the tenant from a bearer key; unknown keys give no tenant', () => {
    expect(ok({ body: {}, headers: { authorization: 'Bearer k-acme' } })).toMatchObject({
      tenant: 'acme',
      labels: { tier: 'paid' },
    });
    expect(ok({ body: {}, headers: { Authorization: 'bearer  k-acme ' } }).tenant).toBe('acme');
    expect(ok({ body: {}, headers: { authorization: 'Bearer nope' } })).toMatchObject({
      tenant: null,
      labels: {},
    });
    expect(ok({ body: {} }).tenant).toBeNull();
  });

  it('merges the metadata header under the body metadata, as strings', () => {
    const c = ok({
      body: { metadata: { task: 'chat', n: 2, deep: { a: 1 }, gone: null } },
      headers: { 'x-switchyard-metadata': '{"task":"classification","team":"red","flag":true}' },
    });
    expect({ ...c.metadata }).toEqual({ task: 'chat', team: 'red', flag: 'true', n: '2', deep: '{"a":1}' });
  });

  it('refuses invalid metadata and seeds, and non-object bodies', () => {
    expect(make({ body: {}, headers: { 'x-switchyard-metadata': '{nope' } })).toMatchObject({
      ok: false,
      status: 400,
      code: 'invalid_metadata',
    });
    expect(make({ body: {}, headers: { 'x-switchyard-metadata': '[1]' } })).toMatchObject({
      code: 'invalid_metadata',
    });
    expect(make({ body: { metadata: 'x' } })).toMatchObject({ code: 'invalid_metadata' });
    expect(make({ body: {}, headers: { 'x-switchyard-seed': '-1' } })).toMatchObject({
      code: 'invalid_seed',
    });
    expect(make({ body: {}, headers: { 'x-switchyard-seed': '4294967296' } })).toMatchObject({
      code: 'invalid_seed',
    });
    expect(make({ body: [] })).toMatchObject({ code: 'invalid_request' });
    expect(make({ body: null })).toMatchObject({ code: 'invalid_request' });
  });

  it('takes the seed from the header, else from the random port', () => {
    expect(ok({ body: {}, headers: { 'x-switchyard-seed': '4294967295' } }).seed).toBe(4294967295);
    expect(ok({ body: {} }, () => 0.5).seed).toBe(2147483648);
    expect(ok({ body: {} }, () => 0).seed).toBe(0);
  });

  it('estimates input size: chars of text, ceil(chars / 4) + 4 per message', () => {
    const c = ok({
      body: {
        messages: [
          { role: 'system', content: 'abcde' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'abc' },
              { type: 'image_url', image_url: { url: 'u' } },
            ],
          },
          'junk',
        ],
      },
    });
    expect(c.inputChars).toBe(8);
    expect(c.inputTokens).toBe(2 + 12);
  });

  it('detects image content', () => {
    expect(hasImageContent({ messages: [{ content: [{ type: 'image_url' }] }] })).toBe(true);
    expect(hasImageContent({ messages: [{ content: 'text' }] })).toBe(false);
    expect(hasImageContent({})).toBe(false);
  });
});
