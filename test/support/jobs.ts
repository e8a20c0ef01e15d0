/**
 * Helpers of the job runner tests (test/unit/jobs, test/integration/execution): a small mock
 * policy, an engine that counts what it was handed, input files, and reading a store's files
 * and journal back.
 */
import { Readable } from 'node:stream';
import { text as streamText } from 'node:stream/consumers';
import { createEngine, type Engine, jobs, parsePolicy, type RequestInput } from '../../engine/index.js';

export const KEY = 'sk-acme-jobs-test';

export function policyYaml(extra = '', mock = 'latency: 5ms'): string {
  return `switchyard: v1
policy: { name: jobs, version: "1" }
providers:
  demo: { kind: mock, ${mock} }
models:
  fast: { provider: demo, model: m, price: { input: 1, output: 2 } }
tenants:
  acme: { keys: [${KEY}] }
  globex: { keys: [sk-globex-jobs-test] }
${extra}
routes:
  - name: chat
    targets: [fast]
`;
}

export function compile(yaml: string) {
  const loaded = parsePolicy([{ file: 'p.yaml', text: yaml }], { env: {} });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.policy;
}

/** An engine that remembers every request id it was handed. */
export function countingEngine(yaml: string): { engine: Engine; seen: string[] } {
  const inner = createEngine(compile(yaml));
  const seen: string[] = [];
  const engine: Engine = {
    ...inner,
    get policy() {
      return inner.policy;
    },
    handle(input: RequestInput) {
      seen.push(input.requestId ?? '');
      return inner.handle(input);
    },
  };
  return { engine, seen };
}

export function requestLines(n: number, prefix = 'r'): string {
  return Array.from(
    { length: n },
    (_, i) =>
      `${JSON.stringify({ custom_id: `${prefix}${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'fast', messages: [{ role: 'user', content: `hello ${i}` }] } })}\n`,
  ).join('');
}

export async function waitFor<T>(probe: () => T | null | undefined, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function parseJsonl(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function fileLines(store: jobs.JobStorage, id: string): Promise<Record<string, unknown>[]> {
  return parseJsonl(await streamText(store.readFile(id)));
}

export async function journaled(store: jobs.JobStorage, jobId: string): Promise<Set<number>> {
  const out = new Set<number>();
  for await (const r of store.records(jobId, () => true, false)) out.add((r as { i: number }).i);
  return out;
}

export async function upload(store: jobs.JobStorage, text: string, owner: string | null = 'acme') {
  return store.saveUpload(
    Readable.from([Buffer.from(text)]),
    { filename: 'in.jsonl', purpose: 'batch', owner, createdAt: 1, expiresAt: null },
    1 << 20,
  );
}

export async function batch(runner: jobs.JobRunner, fileId: string, owner: string | null = 'acme') {
  const created = await runner.createBatch(
    { owner, inputFileId: fileId, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null },
    jobs.JOB_ENDPOINTS,
  );
  if (!created.ok) throw new Error(JSON.stringify(created.refusal));
  return created.value;
}

export async function customIds(store: jobs.JobStorage, job: jobs.JobRecord): Promise<string[]> {
  const ids: string[] = [];
  for (const f of [job.output_file_id, job.error_file_id]) {
    if (f === null) continue;
    for (const line of await fileLines(store, f)) ids.push(String(line.custom_id));
  }
  return ids.sort();
}
