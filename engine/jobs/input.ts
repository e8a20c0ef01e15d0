/**
 * The batch input file (OpenAI Batch API): one request per line,
 * `{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}`.
 * Checked whole before anything runs (the batch's `validating` status): every problem is reported
 * with its line number, in the shape of the Batch API's `errors.data`.
 */

import { createHash } from 'node:crypto';
import { isRecord } from '../shared/guards.js';
import { type LineSource, readLines } from './lines.js';

/** The endpoints a job line may call: the ones the engine serves. */
export const JOB_ENDPOINTS: readonly string[] = Object.freeze([
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/responses',
]);

/** Longest accepted `custom_id`, in characters. */
export const MAX_CUSTOM_ID = 512;

/** Largest accepted input line, in bytes (one request body and its envelope). */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/** At most this many problems are listed (the first ones); the count says how many more. */
const MAX_LISTED_PROBLEMS = 100;

export interface JobLine {
  /** 0-based position among the file's requests (blank lines are not requests). */
  readonly index: number;
  /** 1-based line number in the file. */
  readonly lineNumber: number;
  readonly customId: string;
  readonly url: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** One problem of an input file, as the Batch API reports it (`errors.data[]`). */
export interface LineProblem {
  readonly code: string;
  readonly message: string;
  readonly param: string | null;
  /** 1-based line number; null for a problem of the whole file. */
  readonly line: number | null;
}

export type ParsedLine =
  | { readonly ok: true; readonly line: JobLine }
  | { readonly ok: false; readonly problem: LineProblem };

function problem(code: string, message: string, param: string | null, line: number | null): LineProblem {
  return { code, message, param, line };
}

/**
 * One input line. `endpoint` is the batch's: every line must call it; null (the CLI) accepts any
 * endpoint of {@link JOB_ENDPOINTS}.
 */
export function parseJobLine(
  text: string,
  index: number,
  lineNumber: number,
  endpoint: string | null,
): ParsedLine {
  const fail = (code: string, message: string, param: string | null = null): ParsedLine => ({
    ok: false,
    problem: problem(code, message, param, lineNumber),
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('invalid_json_line', `Line ${lineNumber} is not valid JSON.`);
  }
  if (!isRecord(value)) return fail('invalid_request', `Line ${lineNumber} must be a JSON object.`);
  const { custom_id: customId, method, url, body } = value;
  if (typeof customId !== 'string' || customId === '') {
    return fail(
      'missing_required_parameter',
      `Line ${lineNumber} needs a non-empty string "custom_id".`,
      'custom_id',
    );
  }
  if (customId.length > MAX_CUSTOM_ID) {
    return fail(
      'invalid_value',
      `Line ${lineNumber}: "custom_id" is longer than ${MAX_CUSTOM_ID} characters.`,
      'custom_id',
    );
  }
  if (method !== 'POST') {
    return fail('invalid_value', `Line ${lineNumber}: "method" must be "POST".`, 'method');
  }
  if (typeof url !== 'string') {
    return fail('missing_required_parameter', `Line ${lineNumber} needs a string "url".`, 'url');
  }
  if (endpoint !== null && url !== endpoint) {
    return fail(
      'mismatched_endpoint',
      `Line ${lineNumber}: "url" is ${JSON.stringify(url.slice(0, 100))}, but the batch's endpoint is ${endpoint}; every line must call it.`,
      'url',
    );
  }
  if (!JOB_ENDPOINTS.includes(url)) {
    return fail(
      'invalid_url',
      `Line ${lineNumber}: "url" must be one of ${JOB_ENDPOINTS.join(', ')} (got ${JSON.stringify(url.slice(0, 100))}).`,
      'url',
    );
  }
  if (!isRecord(body))
    return fail('invalid_request', `Line ${lineNumber}: "body" must be a JSON object.`, 'body');
  if (body.stream === true) {
    return fail(
      'invalid_value',
      `Line ${lineNumber}: "body.stream" must not be true; job answers are JSON.`,
      'body.stream',
    );
  }
  return { ok: true, line: { index, lineNumber, customId, url, body } };
}

export interface InputCheck {
  /** Requests in the file. */
  readonly total: number;
  /** Problems found (at most the first 100, then one that counts the rest). */
  readonly problems: readonly LineProblem[];
}

export interface CheckInputOptions {
  /** The batch's endpoint, or null to accept any of {@link JOB_ENDPOINTS} line by line. */
  readonly endpoint: string | null;
  /** Most requests a file may hold. */
  readonly maxRequests: number;
  readonly maxLineBytes?: number;
  /** Stops reading when aborted (a shutdown); the result is then incomplete. */
  readonly signal?: AbortSignal;
}

/**
 * Reads the whole input file once and reports every problem: a line that does not parse or lacks
 * a field, a duplicate `custom_id` (results are matched by it, so it must be unique), too many
 * requests, an empty file. Memory: a short digest of each `custom_id`, never the lines.
 */
export async function checkInputFile(path: LineSource, options: CheckInputOptions): Promise<InputCheck> {
  const problems: LineProblem[] = [];
  let more = 0;
  const report = (p: LineProblem): void => {
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(p);
    else more++;
  };
  const seen = new Map<string, number>();
  let total = 0;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  for await (const raw of readLines(path, { maxLineBytes })) {
    if (raw.text === null) {
      report(
        problem(
          'line_too_long',
          `Line ${raw.number} is longer than ${maxLineBytes} bytes.`,
          null,
          raw.number,
        ),
      );
      total++;
      continue;
    }
    if (raw.text.trim() === '') continue;
    const parsed = parseJobLine(raw.text, total, raw.number, options.endpoint);
    total++;
    if (!parsed.ok) {
      report(parsed.problem);
      continue;
    }
    const digest = createHash('sha256').update(parsed.line.customId).digest('base64').slice(0, 22);
    const first = seen.get(digest);
    if (first !== undefined) {
      report(
        problem(
          'duplicate_custom_id',
          `Line ${raw.number}: "custom_id" ${JSON.stringify(parsed.line.customId.slice(0, 100))} is also on line ${first}; each request needs its own.`,
          'custom_id',
          raw.number,
        ),
      );
    } else {
      seen.set(digest, raw.number);
    }
  }
  if (total === 0) report(problem('empty_file', 'The input file has no requests.', null, null));
  if (total > options.maxRequests) {
    report(
      problem(
        'too_many_requests',
        `The input file has ${total} requests; at most ${options.maxRequests} are allowed in one batch.`,
        null,
        null,
      ),
    );
  }
  if (more > 0) problems.push(problem('more_errors', `${more} more problem(s) not listed.`, null, null));
  return { total, problems };
}

/**
 * The requests of a checked input file, in order, each with its index; blank lines skipped.
 * A line that no longer parses (the file changed under the job) is yielded as a problem.
 */
export async function* jobLines(
  path: LineSource,
  endpoint: string | null,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<ParsedLine> {
  let index = 0;
  for await (const raw of readLines(path, { maxLineBytes })) {
    if (raw.text === null) {
      yield {
        ok: false,
        problem: problem('line_too_long', `Line ${raw.number} is too long.`, null, raw.number),
      };
      index++;
      continue;
    }
    if (raw.text.trim() === '') continue;
    yield parseJobLine(raw.text, index++, raw.number, endpoint);
  }
}
