import type { Policy, Route } from '../engine/policy/types.generated.js';
import { loadDistEngine } from './dist-engine.js';

const { compilePolicy, createEngine } = await loadDistEngine('bench/classify.ts');

const DURATION_MS = Number(process.env.BENCH_MS ?? 1000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const CONCURRENCY = Math.max(1, Number(process.env.BENCH_CONC ?? 50));

const BASE: Omit<Policy, 'routes'> = {
  switchyard: 'v1',
  policy: { name: 'bench-classify', version: '1' },
  providers: { mock: { kind: 'mock' } },
  models: {
    main: { provider: 'mock', model: 'bench-model', price: { input: 1, output: 2 } },
    triage: { provider: 'mock', model: 'bench-triage', price: { input: 0.1, output: 0.2 } },
  },
  defaults: { breaker: { enabled: false } },
};
const CLASSIFIERS: Policy['classifiers'] = {
  task: { kind: 'model', model: 'triage', labels: { code: '', chat: '' }, default: 'chat' },
  effort: { kind: 'complexity', labels: { simple: 0.3, complex: 1 } },
};
const chat: Route = { name: 'chat', when: { model: 'gpt-bench' }, targets: ['main'], retry: { attempts: 0 } };
const last: Route = { name: 'default', targets: ['main'], retry: { attempts: 0 } };
const coding: Route = { name: 'coding', when: { 'class.task': 'code' }, targets: ['main'] };
const hard: Route = { name: 'hard', when: { 'class.effort': 'complex' }, targets: ['main'] };
const ruledOut: Route = {
  name: 'pinned-code',
  when: { model: 'other', 'class.task': 'code' },
  targets: ['main'],
};

interface Case {
  readonly name: string;
  readonly policy: Policy;
  readonly model: string;
  /** Fresh text per request (defeats the classifier's cache). */
  readonly fresh?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'no-classifiers', policy: { ...BASE, routes: [chat, last] }, model: 'gpt-bench' },
  {
    name: 'earlier-route',
    policy: { ...BASE, classifiers: CLASSIFIERS, routes: [chat, coding, hard, last] },
    model: 'gpt-bench',
  },
  {
    name: 'ruled-out',
    policy: { ...BASE, classifiers: CLASSIFIERS, routes: [ruledOut, chat, hard, last] },
    model: 'gpt-bench',
  },
  {
    name: 'complexity',
    policy: { ...BASE, classifiers: CLASSIFIERS, routes: [hard, last] },
    model: 'gpt-bench',
  },
  {
    name: 'model-cached',
    policy: { ...BASE, classifiers: CLASSIFIERS, routes: [coding, last] },
    model: 'gpt-bench',
  },
  {
    name: 'model-uncached',
    policy: { ...BASE, classifiers: CLASSIFIERS, routes: [coding, last] },
    model: 'gpt-bench',
    fresh: true,
  },
];

const TEXT = 'Summarise the plot of Hamlet in two sentences, for a reader who has never seen it.';

async function run(c: Case, ms: number): Promise<{ perSec: number; cpuUs: number }> {
  const engine = createEngine(compilePolicy(c.policy));
  let n = 0;
  const body = () => ({
    model: c.model,
    messages: [{ role: 'user', content: c.fresh === true ? `${TEXT} #${n++}` : TEXT }],
  });
  let done = 0;
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      const r = await engine.handle({ body: body() });
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await engine.close();
  return { perSec: (done / elapsed) * 1000, cpuUs: (cpu.user + cpu.system) / done };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const only = process.env.BENCH_CASES?.split(',');
console.log(
  `classify bench: ${ROUNDS} rounds of ${DURATION_MS}ms, ${CONCURRENCY} in flight (node ${process.version})`,
);
for (const c of CASES) {
  if (only !== undefined && !only.includes(c.name)) continue;
  await run(c, 200); // warm-up
  const results = [];
  for (let i = 0; i < ROUNDS; i++) results.push(await run(c, DURATION_MS));
  const perSec = median(results.map((r) => r.perSec));
  const cpuUs = median(results.map((r) => r.cpuUs));
  console.log(
    `${c.name.padEnd(16)} ${perSec.toFixed(0).padStart(8)} req/s  ${cpuUs.toFixed(1).padStart(7)} µs CPU/req`,
  );
}
