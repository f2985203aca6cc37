/**
 * Any backend's model calls as GenAI client spans (shared/gen-ai-span.ts): the provider registry
 * wraps each backend it builds, so every side and backend is traced the same way. A plain
 * pass-through while tracing is off.
 */
import { inChatSpan } from '../shared/gen-ai-span';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';

export interface TracedProviderOptions {
  /** `gen_ai.provider.name`: `aws.bedrock` (the gateway and direct paths), `ollama`, `openai`. */
  provider: string;
  /** The model a call without `model` asks. */
  defaultModel: string;
  /** The endpoint called (`server.address`), when one. */
  serverUrl?: string;
}

export function tracedProvider(inner: LlmProvider, opts: TracedProviderOptions): LlmProvider {
  return {
    generate: (call: LlmCall): Promise<LlmReply> =>
      inChatSpan(
        () => ({
          provider: opts.provider,
          model: call.model || opts.defaultModel,
          conversationId: call.conversationId,
          turn: call.turn,
          temperature: call.temperature,
          maxTokens: call.maxTokens,
          serverUrl: opts.serverUrl,
          system: call.system,
          messages: [...(call.history ?? []), { role: 'user', content: call.prompt }],
        }),
        () => inner.generate(call),
      ),
  };
}
