/** Validation of `classifiers` and `class.<name>` conditions: codes, locations and hints. */
import { describe, expect, it } from 'vitest';
import { CATALOGUE, check, one } from './helpers.js';

const CLASSIFIERS = `classifiers:
  task: { kind: model, model: fast, labels: { code: "", chat: "" }, default: chat }
  effort: { kind: complexity, labels: { simple: 0.3, complex: 1 } }
`;

function routes(when: string): string {
  return `${CATALOGUE}${CLASSIFIERS}routes:\n  - name: a\n    when: ${when}\n    targets: [fast]\n  - name: b\n    targets: [fast]\n`;
}

describe('class conditions', () => {
  it('accepts labels, `in` lists and combinators on declared classifiers', () => {
    const r = check(
      routes(
        '{ class.task: code, any: [ { class.effort: { in: [simple, complex] } } ], not: { class.task: chat } }',
      ),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('names an unknown classifier with a did-you-mean, at the condition', () => {
    const d = one(check(routes('{ class.tsak: code }')), 'REF_UNKNOWN_CLASSIFIER');
    expect(d.message).toBe(
      'unknown classifier `tsak` in `when.class.tsak` of route `a`: not defined in `classifiers`',
    );
    expect(d.hint).toBe('task');
    expect(d.line).toBe(12);
  });

  it('names a label the classifier does not declare, with a did-you-mean, in `in` lists too', () => {
    const r = check(routes('{ class.task: { in: [code, chatt] } }'));
    const d = one(r, 'SEM_UNKNOWN_LABEL');
    expect(d.pointer).toBe('/routes/0/when/class.task/in/1');
    expect(d.hint).toBe('chat');
    expect(one(check(routes('{ class.effort: 3 }')), 'SEM_UNKNOWN_LABEL').message).toContain('is never one');
  });

  it('rejects numeric operators on a class (labels are text)', () => {
    one(check(routes('{ class.effort: { gt: 0.5 } }')), 'SEM_INVALID_CONDITION');
  });

  it('rejects `class.*` in limits and caches', () => {
    const r = check(
      `${CATALOGUE}${CLASSIFIERS}limits:\n  l: { key: [tenant], requests: 1/min, when: { class.task: code } }\nroutes:\n  - name: a\n    when: { class.effort: simple }\n    limits: [l]\n    targets: [fast]\n  - name: b\n    when: { class.task: chat }\n    targets: [fast]\n`,
    );
    expect(one(r, 'SEM_CLASS_OUTSIDE_ROUTE').pointer).toBe('/limits/l/when/class.task');
  });
});

describe('classifier definitions', () => {
  it('checks the model reference, the default label and the bands', () => {
    const r = check(`${CATALOGUE}classifiers:
  task: { kind: model, model: fsat, labels: { code: "", chat: "" }, default: chta }
  effort: { kind: complexity, labels: { simple: 0.3, complex: 0.9 } }
routes:
  - name: a
    when: { any: [ { class.task: code }, { class.effort: simple } ] }
    targets: [fast]
`);
    expect(one(r, 'REF_UNKNOWN_MODEL').hint).toBe('fast');
    expect(one(r, 'SEM_UNKNOWN_LABEL').hint).toBe('chat');
    expect(one(r, 'SEM_CLASSIFIER_BANDS').pointer).toBe('/classifiers/effort/labels');
  });

  it('rejects a wildcard model and an embedding model of an Anthropic provider', () => {
    const r = check(`${HEAD_ONLY}providers:
  demo: { kind: mock }
  claude: { kind: anthropic, apiKey: sk-test }
models:
  any: { provider: demo, model: "*" }
  sonnet: { provider: claude, model: claude-4-sonnet }
classifiers:
  task: { kind: model, model: any, labels: { a: "", b: "" }, default: a }
  topic: { kind: embedding, model: sonnet, labels: { a: [x] }, default: b }
routes:
  - name: r
    when: { class.task: a, class.topic: b }
    targets: [any]
  - name: s
    targets: [sonnet]
`);
    const found = r.diagnostics.filter((d) => d.code === 'SEM_CLASSIFIER_MODEL').map((d) => d.pointer);
    expect(found).toEqual(['/classifiers/task/model', '/classifiers/topic/model']);
  });

  it('warns about a classifier no route reads', () => {
    const r = check(
      `${CATALOGUE}${CLASSIFIERS}routes:\n  - name: a\n    when: { class.task: code }\n    targets: [fast]\n`,
    );
    expect(one(r, 'SEM_UNUSED').message).toBe(
      'classifier `effort` is defined but never used: no route uses it',
    );
  });
});

const HEAD_ONLY = 'switchyard: v1\npolicy: { name: demo, version: "1" }\n';
