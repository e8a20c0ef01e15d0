/**
 * Counters, gauges and histograms for the server's metrics, and the prom-client registry they are
 * exposed through, created at the first scrape.
 *
 * Why not prom-client's own metrics: every `inc`/`observe` there builds a label object, hashes it
 * into a sorted key string and checks every label name, which was most of the cost of a
 * request's seven observations. Here a label set's cell is found through one Map per label (no
 * string built, no object), and a caller that observes the same labels twice keeps the cell. At
 * scrape time the cells are handed to the registry in prom-client's own value shapes (`get()`),
 * so the text exposition is prom-client's, byte for byte, and series keep their creation order.
 *
 * Why the registry is lazy ({@link LazyRegistry}): nothing needs prom-client and its default
 * collectors (their module graph, timers and observers) before something reads the metrics; an
 * idle gateway that is never scraped measured about 0.5 MB less resident memory without them
 * (docs/footprint.md). The metrics here count without it; the first `GET /metrics` (or
 * `registry` read) loads it and registers them all, in the order they were made.
 */
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

// prom-client is CommonJS: `require` loads it synchronously, so reading `registry` stays a
// property read (the tests and the /metrics route read it in line).
const require = createRequire(import.meta.url);
let prom: typeof import('prom-client') | undefined;
const promClient = (): typeof import('prom-client') => {
  prom ??= require('prom-client') as typeof import('prom-client');
  return prom;
};

/** What a metric registers with: a prom-client registry or a {@link LazyRegistry}. */
export interface MetricTarget {
  registerMetric(metric: Parameters<Registry['registerMetric']>[0]): void;
}

/**
 * The metrics of one server, registered in a prom-client registry made on first use. `setup`
 * runs first on the new registry (the default process metrics), then every metric registered so
 * far, in order; a metric registered later goes straight to the registry. `setup` is given
 * prom-client, loaded.
 */
export class LazyRegistry implements MetricTarget {
  readonly #metrics: Parameters<Registry['registerMetric']>[0][] = [];
  readonly #setup: (registry: Registry, prom: typeof import('prom-client')) => void;
  #registry: Registry | null = null;

  constructor(setup: (registry: Registry, prom: typeof import('prom-client')) => void = () => {}) {
    this.#setup = setup;
  }

  registerMetric(metric: Parameters<Registry['registerMetric']>[0]): void {
    if (this.#registry === null) this.#metrics.push(metric);
    else this.#registry.registerMetric(metric);
  }

  /** The registry, loading prom-client and registering the metrics the first time. */
  get registry(): Registry {
    if (this.#registry === null) {
      const prom = promClient();
      const registry = new prom.Registry();
      this.#setup(registry, prom);
      for (const metric of this.#metrics) registry.registerMetric(metric);
      this.#metrics.length = 0;
      this.#registry = registry;
    }
    return this.#registry;
  }
}

/** One label set of a counter. */
export interface CounterCell {
  value: number;
}

/** One label set of a histogram: counts per bucket (not cumulative), sum and count. */
export interface HistogramCell {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

interface MetricObject {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

type Tree<C> = Map<string, Tree<C> | C>;

/** Cells by label values, in one Map per label; `order` keeps creation order for the exposition. */
abstract class LabelledMetric<C> {
  readonly #root: Tree<C> = new Map();
  /** Cells with their labels, in the order they were created. */
  protected order: { labels: Record<string, string>; cell: C }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: MetricTarget,
  ) {
    if (labelNames.length > 3) throw new Error(`${name}: at most three labels`);
    // prom-client's registry takes any object with a name and `get()`; the cast is its typing.
    registry.registerMetric(this as unknown as Parameters<MetricTarget['registerMetric']>[0]);
  }

  protected abstract create(): C;

  /**
   * The cell of these label values (in `labelNames` order, none to three of them), created at its
   * first use. Fixed arguments rather than a rest array: nothing is allocated for a known cell.
   */
  cell(a = '', b?: string, c?: string): C {
    const depth = this.labelNames.length;
    let node: Tree<C> = this.#root;
    if (depth > 1) node = this.#child(node, a);
    if (depth > 2) node = this.#child(node, b ?? '');
    const key = depth <= 1 ? a : depth === 2 ? (b ?? '') : (c ?? '');
    let cell = node.get(key) as C | undefined;
    if (cell === undefined) {
      cell = this.create();
      node.set(key, cell);
      const values = [a, b ?? '', c ?? ''];
      const labels: Record<string, string> = {};
      for (let i = 0; i < depth; i++) labels[this.labelNames[i]] = values[i];
      this.order.push({ labels, cell });
    }
    return cell;
  }

  #child(node: Tree<C>, key: string): Tree<C> {
    let next = node.get(key) as Tree<C> | undefined;
    if (next === undefined) {
      next = new Map();
      node.set(key, next);
    }
    return next;
  }

  reset(): void {
    this.#root.clear();
    this.order = [];
  }
}

/** A metric of one number per cell: a counter or a gauge. */
abstract class ValueMetric extends LabelledMetric<CounterCell> {
  abstract readonly type: 'counter' | 'gauge';
  readonly aggregator = 'sum';

  constructor(name: string, help: string, labelNames: readonly string[], registry: MetricTarget) {
    super(name, help, labelNames, registry);
    // prom-client shows a metric without labels as 0 before its first change.
    if (labelNames.length === 0) this.cell();
  }

  protected create(): CounterCell {
    return { value: 0 };
  }

  /** prom-client's counter and gauge value shapes. */
  async get(): Promise<MetricObject> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.order.map(({ labels, cell }) => ({ value: cell.value, labels })),
      aggregator: 'sum',
    };
  }
}

export class FastCounter extends ValueMetric {
  readonly type = 'counter';
}

/**
 * A gauge: each cell holds the value last set. `collect`, when given, runs at every scrape before
 * the values are read (prom-client's `collect`), for gauges read from their source then.
 */
export class FastGauge extends ValueMetric {
  readonly type = 'gauge';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    registry: MetricTarget,
    private readonly collect?: (gauge: FastGauge) => void,
  ) {
    super(name, help, labelNames, registry);
  }

  override async get(): Promise<MetricObject> {
    this.collect?.(this);
    return super.get();
  }
}

export class FastHistogram extends LabelledMetric<HistogramCell> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
    registry: MetricTarget,
  ) {
    super(name, help, labelNames, registry);
  }

  protected create(): HistogramCell {
    return { counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
  }

  /** Counts `value` in the first bucket it fits (values above every bound count in +Inf only). */
  observe(cell: HistogramCell, value: number): void {
    if (!Number.isFinite(value)) return;
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]) {
        cell.counts[i] += 1;
        break;
      }
    }
    cell.sum += value;
    cell.count += 1;
  }

  /** prom-client's histogram value shapes: cumulative buckets, +Inf, sum, count per label set. */
  async get(): Promise<MetricObject> {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, cell } of this.order) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += cell.counts[i];
        values.push({
          labels: { le: this.buckets[i] },
          sharedLabels: labels,
          value: acc,
          metricName: bucketName,
        });
      }
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: labels,
        value: cell.count,
        metricName: bucketName,
      });
      values.push({ labels: {}, sharedLabels: labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}
