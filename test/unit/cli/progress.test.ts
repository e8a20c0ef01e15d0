import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../cli/io.js';
import { createReplayProgress, showsProgress } from '../../../cli/progress.js';

function io(isTTY: boolean, env: Record<string, string> = {}): CliIo & { written: () => string } {
  let err = '';
  return {
    stdout: { write: () => true },
    stderr: { isTTY, columns: 120, write: (s: string) => (err += s) } as CliIo['stderr'],
    env,
    written: () => err,
  };
}

const MB = 1_048_576;

describe('the replay progress bar', () => {
  it('is shown only on a terminal, without --quiet, and not on a dumb terminal', () => {
    expect(showsProgress(io(true), false)).toBe(true);
    expect(showsProgress(io(false), false)).toBe(false);
    expect(showsProgress(io(true), true)).toBe(false);
    expect(showsProgress(io(true, { TERM: 'dumb' }), false)).toBe(false);
  });

  it('writes nothing where it is not shown (CI logs, --quiet)', () => {
    for (const [stream, quiet] of [
      [io(false), false],
      [io(true), true],
    ] as const) {
      const progress = createReplayProgress(stream, { quiet, delayMs: 0, now: () => 0 });
      progress.onProgress({ requests: 10, bytesRead: MB, bytesTotal: 4 * MB });
      progress.stop();
      expect(stream.written()).toBe('');
    }
  });

  it('after the delay, draws bytes, requests and requests per second; stop clears it', () => {
    const stream = io(true);
    let t = 0;
    const progress = createReplayProgress(stream, { quiet: false, delayMs: 300, now: () => t });
    progress.onProgress({ requests: 0, bytesRead: 0, bytesTotal: 4 * MB });
    t = 100;
    progress.onProgress({ requests: 5000, bytesRead: MB, bytesTotal: 4 * MB });
    expect(stream.written()).toBe('');
    t = 1000;
    progress.onProgress({ requests: 50_000, bytesRead: 2 * MB, bytesTotal: 4 * MB });
    const drawn = stream.written();
    expect(drawn).toContain('replaying');
    expect(drawn).toContain('50% | 2.0/4.0 MB | 50,000 requests | 50,000 req/s');
    progress.stop();
    progress.stop();
    // clearOnComplete: the line is erased (ESC [ 2K / clear line) so the summary stands alone.
    expect(stream.written().slice(drawn.length)).toMatch(/\u001b\[(0|2)?K/);
  });
});
