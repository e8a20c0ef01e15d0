/**
 * The replay's progress bar (cli-progress) on stderr, fed by `replayRecording`'s `onProgress`:
 * bytes read of the file, requests replayed, requests per second, ETA. Shown only where a
 * person watches: stderr is a terminal (so never in CI logs), TERM is not `dumb`, no `--quiet`;
 * and only once the replay has run for `delayMs`, so a quick replay never flashes a bar. The bar
 * is cleared when done, leaving the summary alone on the screen.
 */
import cliProgress from 'cli-progress';
import type { ReplayProgress } from '../engine/index.js';
import { type CliIo, envOf } from './io.js';

export interface ProgressReporter {
  readonly onProgress: (p: ReplayProgress) => void;
  /** Removes the bar (idempotent); call it before printing the report. */
  stop(): void;
}

export interface ProgressOptions {
  readonly quiet: boolean;
  /** Wait this long after the first progress event before drawing (default 300 ms). */
  readonly delayMs?: number;
  /** Milliseconds since some fixed point (tests pass a fake); default `performance.now`. */
  readonly now?: () => number;
}

const NONE: ProgressReporter = { onProgress: () => {}, stop: () => {} };

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function megabytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(bytes < 10 * 1_048_576 ? 1 : 0);
}

/** Whether a bar belongs on this stderr. */
export function showsProgress(io: CliIo, quiet: boolean): boolean {
  return !quiet && io.stderr.isTTY === true && envOf(io).TERM !== 'dumb';
}

/**
 * A reporter that draws the bar, or does nothing where no one watches.
 *
 * @example
 * const progress = createReplayProgress(io, { quiet: values.quiet === true });
 * try { report = await replayRecording(policy, path, { onProgress: progress.onProgress }); }
 * finally { progress.stop(); }
 */
export function createReplayProgress(io: CliIo, options: ProgressOptions): ProgressReporter {
  if (!showsProgress(io, options.quiet)) return NONE;
  const now = options.now ?? (() => performance.now());
  const delayMs = options.delayMs ?? 300;
  let firstAt: number | null = null;
  let bar: cliProgress.SingleBar | null = null;
  let stopped = false;
  const payload = (p: ReplayProgress) => {
    const seconds = firstAt === null ? 0 : (now() - firstAt) / 1000;
    return {
      read: megabytes(p.bytesRead),
      size: megabytes(p.bytesTotal),
      requests: COUNT.format(p.requests),
      rate: seconds > 0 ? COUNT.format(p.requests / seconds) : '-',
    };
  };
  return {
    onProgress(p) {
      if (stopped) return;
      const at = now();
      firstAt ??= at;
      if (bar === null) {
        if (at - firstAt < delayMs || p.bytesTotal <= 0) return;
        bar = new cliProgress.SingleBar(
          {
            // The CLI's stderr is process.stderr in use; tests pass a TTY-like writer.
            stream: io.stderr as unknown as NodeJS.WritableStream,
            format:
              'replaying {bar} {percentage}% | {read}/{size} MB | {requests} requests | {rate} req/s | ETA {eta_formatted}',
            barsize: 24,
            clearOnComplete: true,
            // A hidden cursor would stay hidden if the user interrupts; leave it alone.
            hideCursor: false,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.bytesTotal, p.bytesRead, payload(p));
        return;
      }
      bar.update(p.bytesRead, payload(p));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar?.stop();
    },
  };
}
