import { compilePolicy } from '../engine/compile/compile.js';
const routes: unknown[] = [];
for (let i = 0; i < 999; i++) routes.push({ name: `r${i}`, when: { model: `model-${i}` }, strategy: 'weighted', targets: [{ model: 'fast', weight: 80 }, { model: 'strong', weight: 20 }] });
routes.push({ name: 'default', targets: ['fast'] });
const p = compilePolicy({ switchyard: 'v1', policy: { name: 'x', version: '1' }, providers: { d: { kind: 'mock' } }, models: { fast: { provider: 'd', model: 'f' }, strong: { provider: 'd', model: 's' } }, routes } as never);
const fast = new Function('o', 'return %HasFastProperties(o)') as (o: unknown) => boolean;
const same = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;
const r1 = p.routes[1], r500 = p.routes[500];
console.log('root', fast(r1.root), same(r1.root, r500.root), 'child', same(r1.root.children[0], r500.root.children[0]), 'template', same((r1.root.children[0] as any).template, (r500.root.children[0] as any).template), 'node', same((r1.root.children[0] as any).node, (r500.root.children[0] as any).node), 'retry', same((r1.root.children[0] as any).template.retry, (r500.root.children[0] as any).template.retry));
console.log('route', same(r1, r500), 'routes frozen elements fast?', fast(p.routes));
const groups: number[] = [];
let prev = p.routes[0]; let cls = 0;
for (let i = 1; i < p.routes.length; i++) { if (!same(prev, p.routes[i])) cls++; prev = p.routes[i]; }
console.log('map changes along routes', cls);
const groupsSeen: unknown[] = [];
for (const r of p.routes) { if (!groupsSeen.some((g) => same(g, r))) groupsSeen.push(r); }
console.log('distinct route maps', groupsSeen.length);
const ds: unknown[] = [];
