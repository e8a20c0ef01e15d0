/**
 * Decide conformance: data-driven cases in `test/conformance/decide/*.yaml`, run against both the
 * compiled engine (`compilePolicy` + `createContext` + `decide`) and the reference interpreter.
 *
 * A file is `{ note, policy, cases: [{ note, request: { body, headers?, path? }, want }] }` where
 * `want` is one of:
 * - `{ route, targets: [model names in attempt order], upstream?: [upstream model names] }`
 * - `{ route, sameAs: <label> }`: every case with the same label gets the same target order
 * - `{ status, code }`: the request is refused (no route, no eligible target, invalid input)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compilePolicy } from '../../engine/compile/compile.js';
import { createContext } from '../../engine/context.js';
import { decide } from '../../engine/decide.js';
import type { Policy } from '../../engine/policy/types.generated.js';
import type { RequestInput } from '../../engine/types.js';
import { refDecide } from '../support/reference.js';

interface Want {
  route?: string;
  targets?: string[];
  upstream?: string[];
  sameAs?: string;
  status?: number;
  code?: string;
}

interface Case {
  note: string;
  request: RequestInput;
  want: Want;
}

interface ConformanceFile {
  note: string;
  policy: Policy;
  cases: Case[];
}

type Outcome =
  | { kind: 'route'; route: string; targets: string[]; upstream: string[] }
  | { kind: 'refused'; status: number; code: string };

const dir = join(import.meta.dirname, 'decide');
const random = () => 0.5;

function viaEngine(policy: Policy, request: RequestInput): Outcome {
  const compiled = compilePolicy(policy);
  const r = createContext(compiled, request, random);
  if (!r.ok) return { kind: 'refused', status: r.status, code: r.code };
  const d = decide(compiled, r.context);
  if (d.kind === 'no_route') return { kind: 'refused', status: d.status, code: d.code };
  return {
    kind: 'route',
    route: d.route,
    targets: d.targets.map((t) => t.name),
    upstream: d.targets.map((t) => t.upstreamModel),
  };
}

function viaReference(policy: Policy, request: RequestInput): Outcome {
  const d = refDecide(policy, request, random);
  if (d.kind !== 'route') return { kind: 'refused', status: d.status, code: d.code };
  return {
    kind: 'route',
    route: d.route,
    targets: d.targets.map((t) => t.name),
    upstream: d.targets.map((t) => t.upstreamModel),
  };
}

function check(got: Outcome, want: Want, groups: Map<string, string[]>): void {
  if (want.code !== undefined) {
    expect(got).toEqual({ kind: 'refused', status: want.status, code: want.code });
    return;
  }
  expect(got.kind).toBe('route');
  if (got.kind !== 'route') return;
  expect(got.route).toBe(want.route);
  if (want.targets !== undefined) expect(got.targets).toEqual(want.targets);
  if (want.upstream !== undefined) expect(got.upstream).toEqual(want.upstream);
  if (want.sameAs !== undefined) {
    const first = groups.get(want.sameAs);
    if (first === undefined) groups.set(want.sameAs, got.targets);
    else expect(got.targets).toEqual(first);
  }
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  const spec = parse(readFileSync(join(dir, file), 'utf8')) as ConformanceFile;
  describe(`${file}: ${spec.note}`, () => {
    for (const [name, evaluate] of [
      ['engine', viaEngine],
      ['reference', viaReference],
    ] as const) {
      describe(name, () => {
        const groups = new Map<string, string[]>();
        for (const c of spec.cases) {
          it(c.note, () => check(evaluate(spec.policy, c.request), c.want, groups));
        }
      });
    }
  });
}
