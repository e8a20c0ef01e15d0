/**
 * Streaming redaction and scanning with a hold-back window (NeMo Guardrails' output rails stream
 * in chunks with a context carried across them; unlike its default, nothing reaches the client
 * before it has been scanned).
 *
 * Invariant: a span of length ≤ `window - LOOKAROUND + 1` is redacted exactly as a one-shot
 * `redact(text, findAll(detectors, text))` would, however the stream is chunked. Why: text is
 * released only up to `cut = buffered end - window`, and never inside a span. Any match not yet
 * complete ends past the buffered end, so it starts after `cut` when it is short enough; any span
 * starting before `cut` is complete and its look-ahead has been seen. The scan of the next
 * window starts at `cut` (`find(text, from)`), with the released text before it as context for
 * look-behinds and word boundaries ({@link CONTEXT} units of it).
 */
import { defaultReplacement, findAll, type Replacement, redact } from './redact.js';
import { type Detector, LOOKAROUND, type Span } from './types.js';

/** Cap of the default window, for unbounded (regex) or very long detectors. */
export const MAX_DEFAULT_WINDOW = 512;
/** Released text kept as look-behind context for the next scan (IPv4 checks 24 for "version"). */
export const CONTEXT = 64;
/**
 * A push rescans only when at least this much more than the window is buffered, so a stream of
 * one-character chunks costs O(length × window / MIN_RELEASE), not O(length × window).
 */
export const MIN_RELEASE = 32;

export interface StreamOptions {
  /** Units held back; default {@link defaultWindow}. */
  readonly window?: number;
}

/**
 * max(maxMatchLength) - 1 + LOOKAROUND (the look-ahead that decides a span's end), capped at
 * {@link MAX_DEFAULT_WINDOW}: spans longer than the cap (only regex and JWT-sized secrets) are
 * still redacted when they arrive within one window, but may be missed across a boundary.
 */
export function defaultWindow(detectors: readonly Detector[]): number {
  let longest = 0;
  for (const d of detectors) longest = Math.max(longest, d.maxMatchLength);
  if (longest === 0) return 0;
  return Math.min(MAX_DEFAULT_WINDOW, longest - 1 + LOOKAROUND);
}

interface Release {
  /** Released text, original (unredacted) units. */
  readonly text: string;
  /** Spans within it, offsets relative to `text`. */
  readonly spans: Span[];
  /** Absolute offset of `text` in the stream. */
  readonly offset: number;
}

/** The hold-back core shared by the redactor and the scanner. */
function createHoldBack(detectors: readonly Detector[], window: number) {
  let context = '';
  let pending = '';
  let offset = 0;
  const release = (final: boolean): Release => {
    const buf = context + pending;
    const off = context.length;
    const spans = findAll(detectors, buf, off);
    let cut = final ? buf.length : buf.length - window;
    if (cut < off) cut = off;
    for (const s of spans) {
      if (s.start < cut && s.end > cut) {
        cut = s.start;
        break;
      }
    }
    // Never split a surrogate pair between two releases.
    if (!final && cut > off) {
      const c = buf.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--;
    }
    const text = buf.slice(off, cut);
    const released: Span[] = [];
    for (const s of spans)
      if (s.start < cut) released.push({ start: s.start - off, end: s.end - off, label: s.label });
    const at = offset;
    offset += text.length;
    context = buf.slice(Math.max(0, cut - CONTEXT), cut);
    pending = buf.slice(cut);
    return { text, spans: released, offset: at };
  };
  return {
    push(chunk: string): Release | null {
      pending += chunk;
      if (pending.length < window + MIN_RELEASE) return null;
      return release(false);
    },
    end(): Release {
      return release(true);
    },
  };
}

export interface StreamRedactor {
  readonly window: number;
  /** Text that is safe to emit now (already redacted); may be empty. */
  push(chunk: string): string;
  /** The rest, redacted. */
  end(): string;
}

/**
 * @example
 * const r = createStreamRedactor([compilePiiDetector(['email'])]);
 * r.push('write to jo') + r.push('e@example.com today') + r.end();
 * // 'write to [REDACTED:email] today'
 */
export function createStreamRedactor(
  detectors: readonly Detector[],
  options: StreamOptions & { readonly replace?: Replacement } = {},
): StreamRedactor {
  const window = options.window ?? defaultWindow(detectors);
  const replace = options.replace ?? defaultReplacement;
  const core = createHoldBack(detectors, window);
  return {
    window,
    push(chunk: string): string {
      const r = core.push(chunk);
      return r === null ? '' : redact(r.text, r.spans, replace);
    },
    end(): string {
      const r = core.end();
      return redact(r.text, r.spans, replace);
    },
  };
}

export interface ScanStep {
  /** Text that is safe to emit now: scanned, and before any violation. */
  readonly text: string;
  /** The first violation (absolute offsets in the stream), once known; then the stream is over. */
  readonly violation: Span | null;
}

export interface StreamScanner {
  readonly window: number;
  push(chunk: string): ScanStep;
  end(): ScanStep;
}

/**
 * For block and flag actions: the same hold-back, text unchanged, and the first violation as soon
 * as it is final. Nothing after a violation's start is ever released.
 */
export function createStreamScanner(
  detectors: readonly Detector[],
  options: StreamOptions = {},
): StreamScanner {
  const window = options.window ?? defaultWindow(detectors);
  const core = createHoldBack(detectors, window);
  let done = false;
  const step = (r: Release | null): ScanStep => {
    if (done || r === null) return { text: '', violation: null };
    const first = r.spans[0];
    if (first === undefined) return { text: r.text, violation: null };
    done = true;
    return {
      text: r.text.slice(0, first.start),
      violation: { start: first.start + r.offset, end: first.end + r.offset, label: first.label },
    };
  };
  return {
    window,
    push: (chunk) => (done ? { text: '', violation: null } : step(core.push(chunk))),
    end: () => (done ? { text: '', violation: null } : step(core.end())),
  };
}
