/**
 * The Lambda's side of a trace: each invocation a SERVER span continuing the `traceparent` the
 * cloud worker sent through API Gateway (FaaS semantic conventions: `faas.trigger` `http`,
 * `faas.invocation_id`), and the Bedrock Converse call inside it a GenAI client span
 * (shared/gen-ai-span.ts) with Bedrock's own usage and stop reason. Pass-throughs while tracing is off.
 *
 * On AWS, {@link awsLambdaEntry} starts tracing on the first invocation when an OTLP endpoint is
 * configured on the function (OTEL_EXPORTER_OTLP_ENDPOINT) and flushes before each invocation
 * returns, because a frozen execution environment exports nothing. In `npm start` and
 * `npm run gateway` the handler runs in a process that started tracing itself.
 */
import { SpanKind } from '@opentelemetry/api';
import type { ConverseFn } from '../bedrock/bedrock-client';
import { inChatSpan } from '../shared/gen-ai-span';
import { contextFromHeaders, inSpan, startTracing, type Tracing, tracingEnabled } from '../shared/tracing';
import type { ProxyHandler } from './proxy-types';

export function tracedInvocation(handle: ProxyHandler): ProxyHandler {
  return (event, lambdaContext) => {
    if (!tracingEnabled()) return handle(event, lambdaContext);
    const parent = contextFromHeaders(event.headers ?? {});
    const attributes = {
      'faas.trigger': 'http',
      'cloud.provider': 'aws',
      ...(lambdaContext?.awsRequestId ? { 'faas.invocation_id': lambdaContext.awsRequestId } : {}),
    };
    return inSpan('lambda generate', { kind: SpanKind.SERVER, parent, attributes }, async (span) => {
      const result = await handle(event, lambdaContext);
      span?.setAttribute('http.response.status_code', result.statusCode);
      return result;
    });
  };
}

/** Bedrock Converse as a GenAI span: `chat <model>`, provider `aws.bedrock`. */
export function tracedConverse(converse: ConverseFn, defaultModelId: string, endpoint?: string): ConverseFn {
  return (req) =>
    inChatSpan(
      () => ({
        provider: 'aws.bedrock',
        model: req.modelId || defaultModelId,
        temperature: req.temperature,
        topP: req.topP,
        maxTokens: req.maxTokens,
        serverUrl: endpoint,
        system: req.system,
        messages: [...req.history, { role: 'user', content: req.prompt }],
      }),
      () => converse(req),
    );
}

/** The handler AWS invokes: tracing from the function's environment, flushed per invocation. */
export function awsLambdaEntry(handle: ProxyHandler, env: Record<string, string | undefined> = process.env): ProxyHandler {
  let tracing: Tracing | undefined;
  return async (event, lambdaContext) => {
    // Only inside AWS Lambda: a process that imports the handler (the stack, the local gateway) starts its own.
    tracing ??= env['AWS_LAMBDA_FUNCTION_NAME'] ? startTracing({ serviceName: 'llmconv-lambda', env }) : undefined;
    try {
      return await handle(event, lambdaContext);
    } finally {
      if (tracing?.enabled) await tracing.flush();
    }
  };
}
