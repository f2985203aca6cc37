/** Tracing is off unless an OTLP endpoint is configured, and then costs nothing on the paths it hooks. */
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { inChatSpan } from '../../../shared/gen-ai-span';
import {
  bullmqTelemetry,
  captureMessageContent,
  inSpan,
  otlpTracesUrl,
  startTracing,
  traceHeaders,
  tracingEnabled,
  withTurnTrace,
} from '../../../shared/tracing';

describe('tracing off by default', () => {
  it('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is registered: no BullMQ telemetry, no headers, no spans', async () => {
    const t = startTracing({ serviceName: 'test', env: {} });
    assert.equal(t.enabled, false);
    assert.equal(tracingEnabled(), false);
    assert.equal(bullmqTelemetry(), undefined, 'queues and workers get no telemetry option');
    assert.deepEqual(traceHeaders(), {}, 'no traceparent on outgoing calls');
    assert.equal(captureMessageContent(), false);
    let seen: unknown = 'unset';
    assert.equal(
      await inSpan('x', {}, async (span) => {
        seen = span;
        return 7;
      }),
      7,
    );
    assert.equal(seen, undefined, 'no span object is made');
    let built = false;
    const reply = await inChatSpan(
      () => {
        built = true;
        return { provider: 'ollama', model: 'm' };
      },
      async () => ({ model: 'm', outputTokens: 3 }),
    );
    assert.equal(reply.outputTokens, 3);
    assert.equal(built, false, 'the span attributes are not even computed');
    assert.equal(await withTurnTrace('c', 2, async () => 'added'), 'added');
    assert.equal(trace.getActiveSpan(), undefined);
  });

  it('OTEL_SDK_DISABLED=true wins over an endpoint', () => {
    const t = startTracing({
      serviceName: 'test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' },
    });
    assert.equal(t.enabled, false);
    assert.equal(tracingEnabled(), false);
  });

  it('the traces URL follows the OTLP exporter spec: the base endpoint gets /v1/traces, the signal endpoint is used as is', () => {
    assert.equal(otlpTracesUrl({}), undefined);
    assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'http://collector:4318/v1/traces');
    assert.equal(
      otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' }),
      'http://b:4318/custom',
    );
  });
});
