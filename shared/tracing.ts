/**
 * OpenTelemetry traces, off unless an OTLP endpoint is configured.
 *
 * `startTracing` registers a tracer provider that exports by OTLP over HTTP/protobuf when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; the exporter
 * reads the other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression)
 * itself. Without an endpoint nothing is registered: `@opentelemetry/api` then hands out its
 * no-op tracer, spans are never recorded, BullMQ gets no `telemetry` option and no header is
 * added to any call (zero cost beyond a function call).
 *
 * The trace shape (docs/architecture.md, "Traces"): one trace per conversation turn. Turn 1 is a
 * child of the `POST` that created the conversation; each later turn starts a new trace from
 * `withTurnTrace`, linked to the step that queued it, so a 40-turn conversation is 40 readable
 * traces rather than one unbounded one. Inside a turn, BullMQ's own spans (bullmq-otel) carry the
 * context from the job that queued a step to the job that runs it, the cloud call carries it to the
 * Lambda in a W3C `traceparent` header, and each model call is a GenAI client span
 * (shared/gen-ai-span.ts).
 *
 * @example
 * const tracing = startTracing({ serviceName: 'llmconv-worker', env: process.env });
 * // ... build queues and workers (they read bullmqTelemetry()) ...
 * await tracing.shutdown(); // flushes what is buffered
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { BullMQOtel } from 'bullmq-otel';

export type Env = Record<string, string | undefined>;

/** The instrumentation scope of every span this project makes. */
export const TRACER_NAME = 'llm-conversation-pipeline';

export interface TracingOptions {
  /** `service.name` of this process (OTEL_SERVICE_NAME wins when set). */
  serviceName: string;
  env: Env;
}

export interface Tracing {
  /** Whether spans are recorded and exported in this process. */
  readonly enabled: boolean;
  /** The OTLP traces URL spans go to, when enabled. */
  readonly endpoint?: string;
  /** Exports what is buffered (the Lambda calls it before each invocation returns). */
  flush(): Promise<void>;
  /** Flushes and unregisters; later spans are no-ops. */
  shutdown(): Promise<void>;
}

let provider: NodeTracerProvider | undefined;
let bullmq: BullMQOtel | undefined;
let captureContent = false;

const OFF: Tracing = { enabled: false, flush: async () => undefined, shutdown: async () => undefined };

/** The OTLP traces URL from the standard variables, or undefined (tracing off). */
export function otlpTracesUrl(env: Env): string | undefined {
  const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (traces) return traces;
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  // The spec: the signal path is appended to the base endpoint.
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/**
 * Starts tracing for this process when an OTLP endpoint is configured (`OTEL_SDK_DISABLED=true`
 * turns it off regardless). Call once, before queues and workers are built; a second call returns
 * the first one's state.
 */
export function startTracing(opts: TracingOptions): Tracing {
  const url = otlpTracesUrl(opts.env);
  if (!url || opts.env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return OFF;
  if (provider) return handle(url);
  captureContent = opts.env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT']?.trim().toLowerCase() === 'true';
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.env['OTEL_SERVICE_NAME']?.trim() || opts.serviceName,
      [ATTR_SERVICE_VERSION]: process.env.npm_package_version ?? '0.1.0',
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  // The default context manager (AsyncLocalStorage) and W3C propagators (traceparent, baggage).
  provider.register();
  // BullMQ's queue and worker spans under their own scope name; metrics stay with prom-client (/metrics).
  bullmq = new BullMQOtel({ tracerName: 'bullmq' });
  return handle(url);
}

function handle(url: string): Tracing {
  return {
    enabled: true,
    endpoint: url,
    flush: async () => {
      await provider?.forceFlush();
    },
    shutdown: async () => {
      const p = provider;
      provider = undefined;
      bullmq = undefined;
      if (!p) return;
      await p.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Whether this process records spans. */
export function tracingEnabled(): boolean {
  return provider !== undefined;
}

/** Whether model prompts and answers go on spans (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true); off by default. */
export function captureMessageContent(): boolean {
  return provider !== undefined && captureContent;
}

/** BullMQ's `telemetry` option (bullmq-otel) when tracing is on; undefined otherwise. */
export function bullmqTelemetry(): BullMQOtel | undefined {
  return bullmq;
}

/** This project's tracer (the API's no-op one while tracing is off). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a span that ends when it settles; an error marks the span and is rethrown.
 * Without tracing, runs `fn` directly.
 */
export async function inSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!provider) return fn(undefined);
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    markError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks `span` failed with the error's code as `error.type` (the semantic conventions' attribute). */
export function markError(span: Span, err: unknown): void {
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof e?.message === 'string' ? e.message : String(err) });
  span.setAttribute('error.type', typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error');
}

/**
 * Starts the trace of turn `turn` (> 1) of a conversation: a new root span, linked to the span
 * that is current (the step that queued it), with `fn` (the queue add) inside it. Turn 1 and
 * everything else stay in the current trace. Without tracing, runs `fn`.
 */
export async function withTurnTrace<T>(conversationId: string, turn: number, fn: () => Promise<T>): Promise<T> {
  if (!provider || turn <= 1) return fn();
  const previous = trace.getSpan(context.active())?.spanContext();
  const span = tracer().startSpan(
    `turn ${turn}`,
    {
      root: true,
      kind: SpanKind.INTERNAL,
      attributes: { 'gen_ai.conversation.id': conversationId, 'llmconv.turn': turn },
      links: previous ? [{ context: previous, attributes: { 'llmconv.link': 'previous_turn' } }] : [],
    },
    ROOT_CONTEXT,
  );
  try {
    return await context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
  } finally {
    span.end();
  }
}

/** The W3C trace headers of the current context (empty without tracing), to send with an outgoing call. */
export function traceHeaders(): Record<string, string> {
  if (!provider) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context an incoming request's headers carry (`traceparent`), or the current one. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  if (!provider) return context.active();
  return propagation.extract(context.active(), headers, {
    get: (carrier, key) => {
      const v = carrier[key] ?? carrier[key.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    },
    keys: (carrier) => Object.keys(carrier),
  });
}
