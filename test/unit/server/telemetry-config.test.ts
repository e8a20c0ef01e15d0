/** How `serve` reads its telemetry settings: the log format and the OTLP traces endpoint. */
import { describe, expect, it } from 'vitest';
import { resolveLogFormat } from '../../../server/log-format.js';
import { tracingEndpoint } from '../../../server/tracing.js';

describe('log format', () => {
  it('auto is pretty on a terminal and JSON otherwise; explicit formats stay', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});

describe('tracing endpoint', () => {
  it('is off without an endpoint, or when the SDK or the OTLP exporter is switched off', () => {
    expect(tracingEndpoint({})).toBeNull();
    expect(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBeNull();
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingEndpoint({ ...on, OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(tracingEndpoint({ ...on, OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
    expect(tracingEndpoint({ ...on, OTEL_TRACES_EXPORTER: 'console,otlp' })).toBe(
      'http://collector:4318/v1/traces',
    );
  });

  it('appends /v1/traces to the general endpoint; the traces endpoint is used as given', () => {
    expect(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracingEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/ingest',
      }),
    ).toBe('https://traces.example.com/ingest');
  });
});
