import { compilePolicy } from '../engine/compile/compile.js';
import { createContext } from '../engine/context.js';
import { decide } from '../engine/decide.js';
const size = 1000;
const routes: unknown[] = [];
for (let i = 0; i < size - 1; i++) routes.push({ name: `r${i}`, when: { model: `model-${i}` }, targets: ['fast'] });
routes.push({ name: 'default', targets: ['fast'] });
const p = compilePolicy({ switchyard: 'v1', policy: { name: 'x', version: '1' }, providers: { d: { kind: 'mock' } }, models: { fast: { provider: 'd', model: 'f' } }, routes } as never);
const ctxs = [];
for (let k = 0; k < 4096; k++) { const r = createContext(p, { body: { model: `model-${(k * 7919) % (size - 1)}` } }, Math.random); if (r.ok) ctxs.push(r.context); }
let s = 0; const t = performance.now(); let n = 0;
while (performance.now() - t < 3000) { for (let i = 0; i < 4096; i++) { const r = decide(p, ctxs[i]); s += r.kind === 'route' ? 1 : 0; } n += 4096; }
console.log((n / ((performance.now() - t) / 1000) / 1e6).toFixed(2), 'M/s', s > 0);
