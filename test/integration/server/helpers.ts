/** Shared set-up for the server integration tests: temp policy dirs and servers on port 0. */

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CreateServerOptions, createServer, type SwitchyardServer } from '../../../server/app.js';

export interface PolicyOptions {
  name?: string;
  version?: string;
  /** Extra YAML inserted at top level (e.g. tenants). */
  extra?: string;
  /** Mock provider settings, YAML flow map body (e.g. `sequence: [overloaded]`). */
  flaky?: string;
  demo?: string;
}

/** A small valid policy: a mock provider, two models, a `special` route and a catch-all `chat`. */
export function policyYaml(options: PolicyOptions = {}): string {
  return `switchyard: v1
policy: { name: ${options.name ?? 'demo'}, version: "${options.version ?? '1'}" }
providers:
  demo: { kind: mock${options.demo ? `, ${options.demo}` : ''} }
  flaky: { kind: mock${options.flaky ? `, ${options.flaky}` : ''} }
models:
  primary: { provider: flaky, model: primary-1, retry: { attempts: 0 } }
  backup: { provider: demo, model: backup-1 }
${options.extra ?? ''}
routes:
  - name: special
    when: { model: special }
    targets: [backup]
  - name: chat
    targets: [primary, backup]
`;
}

/** Same policy with a misspelt key on line 13 (`targetz` in route `special`): fails validation. */
export function invalidPolicyYaml(version = 'broken'): string {
  return policyYaml({ version }).replace('    targets: [backup]', '    targetz: [backup]');
}

export interface TestServer {
  server: SwitchyardServer;
  dir: string;
  policyFile: string;
  /** Atomically replaces the policy file (write + rename, as editors do). */
  writePolicy(text: string): void;
  close(): Promise<void>;
}

export async function startServer(
  yaml: string,
  options: Partial<CreateServerOptions> = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-server-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, yaml);
  let counter = 0;
  const writePolicy = (text: string): void => {
    const tmp = join(dir, `.policy.yaml.${counter++}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, policyFile);
  };
  const server = await createServer({
    policyPath: policyFile,
    host: '127.0.0.1',
    port: 0,
    logger: false,
    watch: false,
    ...options,
  });
  return {
    server,
    dir,
    policyFile,
    writePolicy,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-test', messages: [{ role: 'user', content: 'hello there' }], ...extra };
}

export interface InjectOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON (with its content type unless one is given); a string as it is. */
  payload?: string | object;
}

export interface InjectedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read answers of every shape (as with light-my-request's json())
  json(): any;
}

/** One request to the server over a real socket on its address, the answer read whole. */
export function inject(server: SwitchyardServer, options: InjectOptions): Promise<InjectedResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.payload !== undefined) {
    const isObject = typeof options.payload === 'object';
    body = isObject ? JSON.stringify(options.payload) : (options.payload as string);
    const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    if (isObject && !hasType) headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${options.url}`, { method: options.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          statusCode: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: () => JSON.parse(text),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs `chatBody(extra)` to the server's chat endpoint. */
export function postChat(
  server: SwitchyardServer,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<InjectedResponse> {
  return inject(server, {
    method: 'POST',
    url: '/v1/chat/completions',
    payload: chatBody(extra),
    headers,
  });
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what = 'a condition',
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
