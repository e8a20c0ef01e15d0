import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Destination, LineBatcher } from '../../../server/logging.js';

function destination(): Destination & { written: string[]; synced: number } {
  const written: string[] = [];
  return {
    written,
    synced: 0,
    destroyed: false,
    write(text: string) {
      written.push(text);
      return true;
    },
    flush(cb?: (err?: Error) => void) {
      cb?.();
    },
    flushSync() {
      this.synced++;
    },
  };
}

describe('LineBatcher (standard output in batches)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands lines on joined once a batch has gathered, in order', () => {
    const dest = destination();
    const batcher = new LineBatcher(dest, 10, 1000);
    batcher.write('aaaa\n');
    expect(dest.written).toEqual([]);
    batcher.write('bbbb\n');
    expect(dest.written).toEqual(['aaaa\nbbbb\n']);
    batcher.write('c\n');
    batcher.flushSync();
    expect(dest.written).toEqual(['aaaa\nbbbb\n', 'c\n']);
    expect(dest.synced).toBe(1);
  });

  it('hands a lone line on after the flush delay', () => {
    vi.useFakeTimers();
    const dest = destination();
    const batcher = new LineBatcher(dest, 1000, 100);
    batcher.write('one\n');
    vi.advanceTimersByTime(99);
    expect(dest.written).toEqual([]);
    batcher.write('two\n');
    vi.advanceTimersByTime(1);
    expect(dest.written).toEqual(['one\ntwo\n']);
    vi.advanceTimersByTime(1000);
    expect(dest.written).toEqual(['one\ntwo\n']);
  });

  it('flush(cb) hands what is gathered on, then flushes the destination', () => {
    const dest = destination();
    const batcher = new LineBatcher(dest, 1000, 100);
    batcher.write('x\n');
    const done = vi.fn();
    batcher.flush(done);
    expect(dest.written).toEqual(['x\n']);
    expect(done).toHaveBeenCalledOnce();
  });

  it('drops lines once the destination is destroyed rather than throwing from a timer', () => {
    vi.useFakeTimers();
    const dest = destination();
    const batcher = new LineBatcher(dest, 1000, 100);
    batcher.write('late\n');
    (dest as { destroyed: boolean }).destroyed = true;
    expect(() => vi.advanceTimersByTime(100)).not.toThrow();
    expect(dest.written).toEqual([]);
  });
});

describe('the standard output logger', () => {
  // Fewer lines than a batch: none was handed on yet, so none is in an asynchronous write at the
  // exit (one in flight then is sonic-boom's to finish, as before).
  it('writes every line gathered when the process exits at once', async () => {
    const logging = fileURLToPath(new URL('../../../server/logging.ts', import.meta.url));
    const code = `import { createLogger } from ${JSON.stringify(logging)};
const log = createLogger(undefined);
for (let i = 0; i < 100; i++) log.info({ i }, 'line');
process.exit(0);`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { timeout: 60_000 },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(100);
    expect(JSON.parse(lines[99]).i).toBe(99);
  });
});
