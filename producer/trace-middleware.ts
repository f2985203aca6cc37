/**
 * Each HTTP request as an OpenTelemetry SERVER span (HTTP semantic conventions: `http.request.method`,
 * `url.path`, `http.route`, `http.response.status_code`), continuing an incoming `traceparent`. A
 * `POST /conversation` is the root of its conversation's first turn: the queue add of turn 1 runs
 * inside it (shared/tracing.ts). A pass-through while tracing is off.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type Koa from 'koa';
import { contextFromHeaders, tracer, tracingEnabled } from '../shared/tracing';

export function traceMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    if (!tracingEnabled()) return next();
    const parent = contextFromHeaders(ctx.headers);
    const span = tracer().startSpan(
      ctx.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method, 'url.path': ctx.path, 'url.scheme': ctx.protocol } },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      // The matched route (`/conversation/:id`), set by @koa/router, names the span as the conventions ask.
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      if (typeof route === 'string') {
        span.setAttribute('http.route', route);
        span.updateName(`${ctx.method} ${route}`);
      }
      span.setAttribute('http.response.status_code', ctx.status);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
