/**
 * A model call as an OpenTelemetry GenAI client span, after the GenAI semantic conventions
 * (`@opentelemetry/semantic-conventions/incubating` 1.45: `gen_ai.*`, read 2026-12-03): span name
 * `chat <model>`, kind CLIENT, `gen_ai.operation.name` `chat`, `gen_ai.provider.name`
 * (`aws.bedrock`, `openai`, `ollama`), the request's model and parameters, the answer's model,
 * usage (`gen_ai.usage.input_tokens` / `output_tokens`, reasoning tokens when known) and
 * `gen_ai.response.finish_reasons`. Prompts and answers (`gen_ai.system_instructions`,
 * `gen_ai.input.messages`, `gen_ai.output.messages`) only with
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: they are the dataset's text and may be
 * private.
 */
import { type Attributes, SpanKind } from '@opentelemetry/api';
import { captureMessageContent, inSpan, tracingEnabled } from './tracing';

export interface ChatSpanRequest {
  /** `gen_ai.provider.name`: `aws.bedrock`, `openai`, `ollama`. */
  provider: string;
  model: string;
  conversationId?: string;
  turn?: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** `server.address` / `server.port` of the endpoint called, when there is one. */
  serverUrl?: string;
  /** Only recorded when message capture is on. */
  system?: string;
  messages?: { role: string; content: string }[];
}

export interface ChatSpanReply {
  /** The model that answered (`model` of an LlmReply, `modelId` of a Converse result). */
  model?: string;
  modelId?: string;
  text?: string;
  inputTokens?: number;
  outputTokens?: number;
  reasoningTokens?: number;
  stopReason?: string;
}

/** The request attributes of a chat span. */
export function chatRequestAttributes(req: ChatSpanRequest): Attributes {
  const a: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': req.provider,
    'gen_ai.request.model': req.model,
  };
  if (req.conversationId) a['gen_ai.conversation.id'] = req.conversationId;
  if (req.turn !== undefined) a['llmconv.turn'] = req.turn;
  if (req.temperature !== undefined) a['gen_ai.request.temperature'] = req.temperature;
  if (req.topP !== undefined) a['gen_ai.request.top_p'] = req.topP;
  if (req.maxTokens !== undefined) a['gen_ai.request.max_tokens'] = req.maxTokens;
  if (req.serverUrl) {
    try {
      const u = new URL(req.serverUrl);
      a['server.address'] = u.hostname;
      a['server.port'] = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    } catch {
      // Not a URL (a test double): no server attributes.
    }
  }
  if (captureMessageContent()) {
    if (req.system) a['gen_ai.system_instructions'] = JSON.stringify([{ type: 'text', content: req.system }]);
    if (req.messages) {
      a['gen_ai.input.messages'] = JSON.stringify(
        req.messages.map((m) => ({ role: m.role, parts: [{ type: 'text', content: m.content }] })),
      );
    }
  }
  return a;
}

/** The reply attributes of a chat span. */
export function chatReplyAttributes(reply: ChatSpanReply): Attributes {
  const a: Attributes = {};
  const model = reply.model ?? reply.modelId;
  if (model) a['gen_ai.response.model'] = model;
  if (reply.inputTokens !== undefined) a['gen_ai.usage.input_tokens'] = reply.inputTokens;
  if (reply.outputTokens !== undefined) a['gen_ai.usage.output_tokens'] = reply.outputTokens;
  if (reply.reasoningTokens !== undefined) a['gen_ai.usage.reasoning.output_tokens'] = reply.reasoningTokens;
  if (reply.stopReason) a['gen_ai.response.finish_reasons'] = [reply.stopReason];
  if (captureMessageContent() && reply.text !== undefined) {
    a['gen_ai.output.messages'] = JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: reply.text }], finish_reason: reply.stopReason ?? '' },
    ]);
  }
  return a;
}

/** Runs the model call `fn` inside a `chat <model>` client span (a plain call when tracing is off). */
export function inChatSpan<R extends ChatSpanReply>(req: ChatSpanRequest | (() => ChatSpanRequest), fn: () => Promise<R>): Promise<R> {
  if (!tracingEnabled()) return fn();
  if (typeof req === 'function') req = req();
  return inSpan(`chat ${req.model}`, { kind: SpanKind.CLIENT, attributes: chatRequestAttributes(req) }, async (span) => {
    const reply = await fn();
    span?.setAttributes(chatReplyAttributes(reply));
    return reply;
  });
}
