/**
 * The server's fast counters and histograms expose exactly what prom-client's would: the same
 * observations, fed to both, give the same Prometheus text (property), and a cell is found again
 * without being created twice.
 */
import { fc, test } from '@fast-check/vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../../../server/fast-metrics.js';

const BUCKETS = [0.005, 0.01, 0.1, 1, 10];
const label = fc.constantFrom('chat', 'none', 'a"b', 'back\\slash', 'new\nline', '200', '');
const value = fc.oneof(
  fc.constantFrom(0, 0.005, 0.01, 1, 10, 11),
  fc.double({ min: 0, max: 50, noNaN: true }),
);
const observation = fc.record({ a: label, b: label, c: label, v: value });

describe('FastCounter and FastHistogram', () => {
  test.prop([fc.array(observation, { maxLength: 40 })])(
    'give the Prometheus text prom-client gives for the same observations',
    async (observations) => {
      const theirs = new Registry();
      const ours = new Registry();
      const counter = new Counter({
        name: 'c_total',
        help: 'h',
        labelNames: ['x', 'y', 'z'],
        registers: [theirs],
      });
      const histogram = new Histogram({
        name: 'h_seconds',
        help: 'h',
        labelNames: ['x', 'y'],
        buckets: BUCKETS,
        registers: [theirs],
      });
      const single = new Counter({ name: 's_total', help: 'h', labelNames: ['x'], registers: [theirs] });
      const fastCounter = new FastCounter('c_total', 'h', ['x', 'y', 'z'], ours);
      const fastHistogram = new FastHistogram('h_seconds', 'h', ['x', 'y'], BUCKETS, ours);
      const fastSingle = new FastCounter('s_total', 'h', ['x'], ours);
      for (const { a, b, c, v } of observations) {
        counter.inc({ x: a, y: b, z: c }, v);
        fastCounter.cell(a, b, c).value += v;
        histogram.observe({ x: a, y: b }, v);
        fastHistogram.observe(fastHistogram.cell(a, b), v);
        single.inc({ x: c });
        fastSingle.cell(c).value += 1;
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
    },
  );

  it('keeps one cell per label set, in creation order, and starts again after reset', async () => {
    const registry = new Registry();
    const counter = new FastCounter('n_total', 'h', ['route', 'status'], registry);
    const first = counter.cell('chat', '200');
    expect(counter.cell('chat', '200')).toBe(first);
    counter.cell('embed', '200').value += 2;
    first.value += 1;
    expect(await registry.metrics()).toBe(
      '# HELP n_total h\n# TYPE n_total counter\nn_total{route="chat",status="200"} 1\nn_total{route="embed",status="200"} 2\n',
    );
    counter.reset();
    expect(await registry.metrics()).toBe('# HELP n_total h\n# TYPE n_total counter\n');
  });

  it('does not count a value that is not a finite number', async () => {
    const registry = new Registry();
    const histogram = new FastHistogram('d_seconds', 'h', ['route'], [1], registry);
    const cell = histogram.cell('chat');
    histogram.observe(cell, Number.NaN);
    histogram.observe(cell, Number.POSITIVE_INFINITY);
    expect(cell.count).toBe(0);
  });
});
