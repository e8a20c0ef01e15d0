/**
 * `switchyard explain --policy <path> --request <file.json> [--format human|json]`: what the
 * policy would do with one request: the matched route, why each earlier route did not match, and
 * the attempt plan. Nothing is sent upstream.
 */

import { readFile } from 'node:fs/promises';
import type { RequestInput } from '../../engine/index.js';
import { explainDecision, renderExplainHuman, withClassifiers } from '../../server/explain.js';
import { parseCommandArgs } from '../args.js';
import {
  CliError,
  type CliIo,
  envOf,
  jsonText,
  loadEngine,
  parseFormat,
  requireExisting,
  UsageError,
  useColor,
} from '../io.js';

export const EXPLAIN_HELP = `Usage: switchyard explain --policy <file|dir> --request <request.json> [options]

Shows the route a request would take, why each earlier route did not match, and the plan
(targets in attempt order, timeouts, retries). Nothing is sent upstream.

The request file holds { "body": { ...OpenAI request... }, "headers": { ... }, "path": "/v1/..." };
"headers" and "path" are optional. No model or embedding classifier runs (complexity ones do, as
they make no call): "classes": { "<classifier>": "<label>" } gives the labels to explain a
classified request with (routes reading an absent one do not match).

Options:
  --policy <path>         Policy file or directory (required)
  --request <file>        Request file (required)
  --format <human|json>   Output format (default: human)
  -h, --help              Show this help

Exit codes: 0 explained, 1 the policy has errors, 2 usage error, a missing policy path or an
unreadable request file.
`;

const FORMATS = ['human', 'json'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and checks the request file; every problem is a CliError naming the file. */
export async function readRequestFile(path: string): Promise<RequestInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = isObject(err) && typeof err.code === 'string' ? err.code : 'unreadable';
    throw new CliError(`cannot read request file ${path} (${code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `request file ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const shape = 'expected { "body": {...}, "headers"?: {...}, "path"?: "/v1/..." }';
  if (!isObject(parsed)) throw new CliError(`request file ${path}: ${shape}`);
  if (!('body' in parsed)) {
    const looksLikeBody = 'messages' in parsed || 'model' in parsed || 'input' in parsed;
    throw new CliError(
      `request file ${path} has no "body": ${shape}` +
        (looksLikeBody ? ' (it looks like a bare request body: wrap it as { "body": ... })' : ''),
    );
  }
  if (!isObject(parsed.body)) throw new CliError(`request file ${path}: "body" must be an object`);
  const headers: Record<string, string> = {};
  if (parsed.headers !== undefined) {
    if (!isObject(parsed.headers)) throw new CliError(`request file ${path}: "headers" must be an object`);
    for (const [name, value] of Object.entries(parsed.headers)) {
      if (typeof value !== 'string') {
        throw new CliError(`request file ${path}: header "${name}" must be a string`);
      }
      headers[name.toLowerCase()] = value;
    }
  }
  if (parsed.path !== undefined && typeof parsed.path !== 'string') {
    throw new CliError(`request file ${path}: "path" must be a string`);
  }
  const classes: Record<string, string> = {};
  if (parsed.classes !== undefined) {
    if (!isObject(parsed.classes)) throw new CliError(`request file ${path}: "classes" must be an object`);
    for (const [name, label] of Object.entries(parsed.classes)) {
      if (typeof label !== 'string')
        throw new CliError(`request file ${path}: class "${name}" must be a string`);
      classes[name] = label;
    }
  }
  return {
    body: parsed.body,
    headers,
    ...(typeof parsed.path === 'string' ? { path: parsed.path } : {}),
    ...(parsed.classes === undefined ? {} : { classes }),
  };
}

export async function runExplain(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    { policy: { type: 'string' }, request: { type: 'string' }, format: { type: 'string' } },
    EXPLAIN_HELP,
    io,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  const format = parseFormat(values.format, FORMATS, 'human');
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.policy === undefined) throw new UsageError('explain needs --policy <file|dir>');
  if (values.request === undefined) throw new UsageError('explain needs --request <request.json>');
  await requireExisting(values.policy, '--policy');

  const input = await readRequestFile(values.request);
  const engine = await loadEngine('loadPolicyWithoutSecrets', 'createEngine', 'formatHuman', 'formatJson');
  // explain sends nothing upstream, so it needs no provider key: a variable that is not set is a
  // placeholder, said as a warning (as validate does).
  const { loaded, placeholders } = await engine.loadPolicyWithoutSecrets(values.policy, envOf(io));
  const color = useColor(io, undefined);
  if (!loaded.ok) {
    if (format === 'json') io.stdout.write(jsonText(engine.formatJson(loaded.diagnostics)));
    else io.stderr.write(engine.formatHuman(loaded.diagnostics, loaded.sources, { color }));
    return 1;
  }
  if (format === 'human' && loaded.diagnostics.length > 0) {
    io.stderr.write(engine.formatHuman(loaded.diagnostics, loaded.sources, { color }));
  }
  if (format === 'human') {
    for (const name of placeholders) {
      io.stderr.write(`warning: \${${name}} is not set; explained with a placeholder (serve needs it)\n`);
    }
  }

  const instance = engine.createEngine(loaded.policy);
  try {
    const decision = instance.decide(input, { explain: true });
    const report = withClassifiers(
      explainDecision(
        decision.kind === 'rejected' ? loaded.policy.identity : decision.policy,
        decision,
        loaded.policy.guardrails,
        { stream: (input.body as { stream?: unknown }).stream === true },
      ),
      loaded.policy,
    );
    io.stdout.write(format === 'json' ? jsonText(report) : renderExplainHuman(report));
  } finally {
    await instance.close();
  }
  return 0;
}
