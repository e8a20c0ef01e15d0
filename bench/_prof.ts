import { compilePolicy } from '../engine/compile/compile.js';
import { findFirstMatch } from '../engine/compile/graph.js';
import { createContext } from '../engine/context.js';
import { decide } from '../engine/decide.js';
for (const size of [10, 1000]) {
  const routes: unknown[] = [];
  for (let i = 0; i < size - 1; i++) routes.push({ name: `r${i}`, when: { model: `model-${i}` }, targets: ['fast'] });
  routes.push({ name: 'default', targets: ['fast'] });
  const p = compilePolicy({ switchyard: 'v1', policy: { name: 'x', version: '1' }, providers: { d: { kind: 'mock' } }, models: { fast: { provider: 'd', model: 'f' } }, routes } as never);
  const ctxs = [];
  for (let k = 0; k < 4096; k++) { const r = createContext(p, { body: { model: `model-${(k * 7919) % (size - 1)}` } }, Math.random); if (r.ok) ctxs.push(r.context); }
  for (const [name, fn] of [['find', (c: never) => findFirstMatch(p.index, p.routes, c)], ['decide', (c: never) => decide(p, c)]] as const) {
    let s = 0; const t = performance.now(); let n = 0;
    while (performance.now() - t < 1000) { for (let i = 0; i < 4096; i++) { const r = fn(ctxs[i] as never); s += typeof r === 'number' ? r : 1; } n += 4096; }
    console.log(size, name, (n / ((performance.now() - t) / 1000) / 1e6).toFixed(2), 'M/s', s > 0);
  }
}
