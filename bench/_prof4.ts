import { compilePolicy } from '../engine/compile/compile.js';
import { createContext } from '../engine/context.js';
import { decide } from '../engine/decide.js';
for (const weighted of [true]) {
const routes: unknown[] = [];
for (let i = 0; i < 9; i++) routes.push({ name: `r${i}`, when: { model: `model-${i}` }, strategy: weighted ? 'weighted' : 'fallback', targets: [{ model: 'fast', weight: 80 }, { model: 'strong', weight: 20 }] });
routes.push({ name: 'default', targets: ['fast'] });
const p = compilePolicy({ switchyard: 'v1', policy: { name: 'x', version: '1' }, providers: { d: { kind: 'mock' } }, models: { fast: { provider: 'd', model: 'f' }, strong: { provider: 'd', model: 's' } }, routes } as never);
const ctxs = [];
for (let k = 0; k < 4096; k++) { const r = createContext(p, { body: { model: `model-${k % 9}` } }, Math.random); if (r.ok) ctxs.push(r.context); }
let s = 0; const t = performance.now(); let n = 0;
while (performance.now() - t < 2000) { for (let i = 0; i < 4096; i++) { const r = decide(p, ctxs[i]); s += r.kind === 'route' ? 1 : 0; } n += 4096; }
console.log(weighted, (n / ((performance.now() - t) / 1000) / 1e6).toFixed(2), 'M/s', s > 0);
}
