import { compilePolicy } from '../engine/compile/compile.js';
import { createContext } from '../engine/context.js';
import { decide } from '../engine/decide.js';
import { findFirstMatch } from '../engine/compile/graph.js';
const mode = process.argv[2];
for (const size of [10, 1000]) {
  const routes: unknown[] = [];
  for (let i = 0; i < size - 1; i++) {
    const when = mode === 'meta' ? { 'metadata.task': `t${i}`, stream: false } : { model: `model-${i}` };
    routes.push(mode === 'weighted' ? { name: `r${i}`, when, strategy: 'weighted', targets: [{ model: 'fast', weight: 80 }, { model: 'strong', weight: 20 }] } : { name: `r${i}`, when, targets: ['fast', 'strong'] });
  }
  routes.push({ name: 'default', targets: ['fast'] });
  const p = compilePolicy({ switchyard: 'v1', policy: { name: 'x', version: '1' }, providers: { d: { kind: 'mock' } }, models: { fast: { provider: 'd', model: 'f' }, strong: { provider: 'd', model: 's' } }, routes } as never);
  const ctxs = [];
  for (let k = 0; k < 4096; k++) { const i = (k * 7919) % (size - 1); const r = createContext(p, { body: { model: `model-${i}`, metadata: { task: `t${i}` } } }, Math.random); if (r.ok) ctxs.push(r.context); }
  for (const [nm, fn] of [['find', (c: never) => findFirstMatch(p.index, p.routes, c)], ['decide', (c: never) => decide(p, c)]] as const) {
    let s = 0; const t = performance.now(); let n = 0;
    while (performance.now() - t < 700) { for (let i = 0; i < 4096; i++) { const r = fn(ctxs[i] as never); s += typeof r === 'number' ? r : 1; } n += 4096; }
    console.log(mode, size, nm, (n / ((performance.now() - t) / 1000) / 1e6).toFixed(2), 'M/s', s > 0);
  }
}
