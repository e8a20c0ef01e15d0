/**
 * Exporting the engine's traces (engine/runtime/tracing.ts) over OTLP/HTTP, configured the
 * standard way: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
 * a tracer provider is registered process-wide with a batching OTLP exporter (JSON over HTTP),
 * which reads the rest of the `OTEL_EXPORTER_OTLP_*` variables from the process environment
 * (headers, timeout, compression).
 * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the service (default `switchyard`);
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off. The SDK and the exporter are
 * imported only then, so a server without tracing never loads them (nor the API itself:
 * engine/runtime/tracing.ts).
 *
 * Propagation is W3C trace context only (`traceparent`, `tracestate`): baggage a client sends is
 * not forwarded to upstream providers.
 */
export interface Tracing {
  /** Where spans go (for the start-up line). */
  readonly endpoint: string;
  /**
   * Sends the SDK's own warnings and errors (a batch that could not be exported, ...) to `log`,
   * so lost spans are never silent.
   */
  logTo(log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void }): void;
  /** Exports what is buffered and stops; call on shutdown. */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The URL spans are sent to, or null when tracing is off: the traces endpoint as given, or the
 * general endpoint with `/v1/traces` appended (as the OTLP specification says).
 */
export function tracingEndpoint(env: Env): string | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const exporters = env.OTEL_TRACES_EXPORTER?.split(',').map((e) => e.trim().toLowerCase());
  if (exporters !== undefined && exporters.length > 0 && !exporters.includes('otlp')) return null;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces !== undefined && traces !== '') return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base === undefined || base === '') return null;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Registers the OTLP tracer provider when the environment asks for it; null otherwise.
 *
 * @example
 * const tracing = await startTracing(process.env);
 * // ... serve ...
 * await tracing?.shutdown();
 */
export async function startTracing(env: Env): Promise<Tracing | null> {
  const endpoint = tracingEndpoint(env);
  if (endpoint === null) return null;
  const [
    { DiagLogLevel, diag },
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    resources,
    { W3CTraceContextPropagator },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  // The service name: switchyard, unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'switchyard' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    endpoint,
    logTo(log) {
      const noop = (): void => undefined;
      const details = (args: unknown[]): object => ({ details: args.map((a) => describe(a)) });
      diag.setLogger(
        {
          error: (message, ...args) => log.error(details(args), `tracing: ${message}`),
          warn: (message, ...args) => log.warn(details(args), `tracing: ${message}`),
          info: noop,
          debug: noop,
          verbose: noop,
        },
        DiagLogLevel.WARN,
      );
    },
    shutdown: () => provider.shutdown(),
  };
}

/**
 * An SDK log argument as text: errors by name and message, strings as they are, anything else by
 * its type only (an exporter's objects may hold the collector's auth headers).
 */
function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return typeof value === 'string' ? value : typeof value;
}
