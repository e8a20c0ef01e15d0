/** What the benchmarks' upstreams answer, shared by them. */

/**
 * A streamed answer's text: 48 words, so a stream is 51 SSE frames (the role, one per word, the
 * finish reason, `[DONE]`), the size of a short chat answer.
 */
export const STREAM_REPLY = Array.from({ length: 48 }, (_, i) => `word${i}`).join(' ');
