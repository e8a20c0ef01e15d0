/**
 * The server's fast counters, gauges and histograms expose exactly what prom-client's would: the
 * same observations, fed to both, give the same Prometheus text (properties), and a cell is found
 * again without being created twice. The lazy registry registers them, in order, when first read.
 */
import { fc, test } from '@fast-check/vitest';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastGauge, FastHistogram, LazyRegistry } from '../../../server/fast-metrics.js';

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

describe('FastGauge and counters without labels', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), a: label, b: label, v: value }),
    fc.record({ kind: fc.constant('reset' as const) }),
    fc.record({ kind: fc.constant('plain' as const), v: value }),
  );

  test.prop([fc.array(step, { maxLength: 30 })])(
    'give the Prometheus text prom-client gives for the same sets, resets and increments',
    async (steps) => {
      const theirs = new Registry();
      const ours = new Registry();
      const gauge = new Gauge({ name: 'g', help: 'h', labelNames: ['x', 'y'], registers: [theirs] });
      const plainGauge = new Gauge({ name: 'p', help: 'h', registers: [theirs] });
      const plainCounter = new Counter({ name: 'n_total', help: 'h', registers: [theirs] });
      const fastGauge = new FastGauge('g', 'h', ['x', 'y'], ours);
      const fastPlainGauge = new FastGauge('p', 'h', [], ours);
      const fastPlainCounter = new FastCounter('n_total', 'h', [], ours);
      for (const s of steps) {
        if (s.kind === 'set') {
          gauge.set({ x: s.a, y: s.b }, s.v);
          fastGauge.cell(s.a, s.b).value = s.v;
        } else if (s.kind === 'reset') {
          gauge.reset();
          fastGauge.reset();
        } else {
          plainGauge.set(s.v);
          fastPlainGauge.cell().value = s.v;
          plainCounter.inc(s.v);
          fastPlainCounter.cell().value += s.v;
        }
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
    },
  );

  it('runs its collect at every scrape, before the values are read', async () => {
    const registry = new Registry();
    let source: Record<string, number> = { a: 1 };
    new FastGauge('state', 'h', ['target'], registry, (gauge) => {
      gauge.reset();
      for (const [k, v] of Object.entries(source)) gauge.cell(k).value = v;
    });
    expect(await registry.metrics()).toContain('state{target="a"} 1\n');
    source = { b: 2 };
    const text = await registry.metrics();
    expect(text).toContain('state{target="b"} 2\n');
    expect(text).not.toContain('target="a"');
  });
});

describe('LazyRegistry', () => {
  it('registers nothing until read, then the setup first and every metric in order, later ones at once', async () => {
    let setups = 0;
    const lazy = new LazyRegistry((registry, prom) => {
      setups += 1;
      new prom.Counter({ name: 'first_total', help: 'h', registers: [registry] });
    });
    const a = new FastCounter('a_total', 'h', ['x'], lazy);
    a.cell('1').value += 2;
    new FastCounter('b_total', 'h', [], lazy);
    expect(setups).toBe(0);
    const registry = lazy.registry;
    expect(lazy.registry).toBe(registry);
    expect(setups).toBe(1);
    new FastGauge('c', 'h', [], lazy);
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toEqual(['first_total', 'a_total', 'b_total', 'c']);
    expect(await registry.metrics()).toContain('a_total{x="1"} 2\n');
  });
});
