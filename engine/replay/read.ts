/** Reading a recording back: each line validated against schemas/recorded-traffic.schema.json. */

import { createReadStream } from 'node:fs';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { RECORDING_VERSION, type RecordedLine } from './record.js';
import { validate as generatedValidate } from './recorded-line.validate.generated.js';

// ---------------------------------------------------------------------------------------------
// Validating and reading

/**
 * The schema's validator, compiled ahead of time (`npm run gen:validators`, Ajv standalone code
 * made with the options scripts/gen-validators.mjs names: every error, strict): compiling it at
 * run time cost every replay its first ~100 ms. A test keeps the file in step with the schema.
 */
const validate = generatedValidate as unknown as ((data: unknown) => boolean) & {
  errors?: ErrorObject[] | null;
};

export type LineValidation =
  | { readonly ok: true; readonly line: RecordedLine }
  | { readonly ok: false; readonly errors: readonly string[] };

function describeError(e: ErrorObject): string {
  return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`;
}

/** Checks a parsed line against `schemas/recorded-traffic.schema.json`. */
export function validateRecordedLine(value: unknown): LineValidation {
  if (validate(value)) return { ok: true, line: value as RecordedLine };
  return { ok: false, errors: (validate.errors ?? []).map(describeError) };
}

/** A line that could not be read and was skipped. */
export interface RecordingWarning {
  readonly code: 'torn_line';
  /** 1-based line number in the file. */
  readonly line: number;
  readonly message: string;
}

export interface RecordingReader extends AsyncIterable<RecordedLine> {
  /** Lines skipped so far; complete once iteration has ended. */
  readonly warnings: readonly RecordingWarning[];
}

export interface ReadRecordingOptions {
  readonly onWarning?: (warning: RecordingWarning) => void;
}

/** A recording line that is valid JSON but not a valid line: the file is not a v1 recording. */
export class RecordingError extends Error {
  readonly code = 'SY_RECORDING_INVALID';
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'RecordingError';
  }
}

/**
 * Reads a recording line by line, validating each against the schema.
 *
 * A line that is not JSON is a torn write — a crash mid-line, usually the last line, or a
 * fragment left mid-file when recording resumed after a crash — and is skipped with a warning.
 * A line that is JSON but breaks the schema (another format version, an edited file) is an
 * error: {@link RecordingError}, naming the file and line.
 *
 * @example
 * const reader = readRecording('traffic.jsonl');
 * for await (const line of reader) simulate(line);
 * if (reader.warnings.length > 0) console.warn(`${reader.warnings.length} torn line(s) skipped`);
 */
export function readRecording(path: string, options: ReadRecordingOptions = {}): RecordingReader {
  const warnings: RecordingWarning[] = [];
  const parse = (text: string, lineNo: number): RecordedLine | null => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      const warning: RecordingWarning = {
        code: 'torn_line',
        line: lineNo,
        message: `${path}:${lineNo}: skipped a torn line (${text.length} characters of incomplete JSON)`,
      };
      warnings.push(warning);
      options.onWarning?.(warning);
      return null;
    }
    const result = validateRecordedLine(value);
    if (!result.ok) {
      throw new RecordingError(
        `${path}:${lineNo}: not a v${RECORDING_VERSION} recording line: ${result.errors.join('; ')}`,
        path,
        lineNo,
      );
    }
    return result.line;
  };
  async function* lines(): AsyncGenerator<RecordedLine> {
    let rest = '';
    let lineNo = 0;
    for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
      rest += chunk as string;
      let start = 0;
      for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
        lineNo++;
        const text = rest.slice(start, nl).trim();
        start = nl + 1;
        if (text === '') continue;
        const line = parse(text, lineNo);
        if (line !== null) yield line;
      }
      rest = rest.slice(start);
    }
    const text = rest.trim();
    if (text !== '') {
      const line = parse(text, lineNo + 1);
      if (line !== null) yield line;
    }
  }
  return {
    get warnings() {
      return warnings;
    },
    [Symbol.asyncIterator]: () => lines(),
  };
}
