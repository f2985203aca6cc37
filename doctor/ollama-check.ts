/**
 * `ollama.server`, `ollama.model`, `ollama.context`, `ollama.thinking`: each Ollama endpoint of the
 * local pool (OLLAMA_HOSTS, else OLLAMA_HOST) through the `ollama` client: `GET /api/version`,
 * `POST /api/show` (`model_info["<arch>.context_length"]`, `capabilities`), `GET /api/ps` (the
 * context a loaded model runs with). ollama/ollama `api/types.go` ShowResponse / ProcessModelResponse
 * and `docs/api.md`, read 2026-12-02.
 *
 * Context: Ollama cuts a prompt longer than its context without an error, and its default context
 * depends on the server (OLLAMA_CONTEXT_LENGTH, the GPU), so the doctor compares what a
 * conversation can send at most (the local prompt embeds the cloud answer plus up to
 * `contextTurns` earlier exchanges, each up to DEFAULT_MAX_TOKENS, and the reply needs room too)
 * with OLLAMA_NUM_CTX, or the running context, and with the model's own context length.
 */
import { Ollama } from 'ollama';
import { DEFAULT_CONTEXT_TURNS } from '../conversation/conversation-request';
import { ollamaPoolOf, type Config } from '../shared/config';
import { type Check, type CheckResult, describeError, fail, ok, skip, warn, within } from './check-result';

/** Ollama's usual default context when nothing says otherwise (docs/faq.md "How can I specify the context window size?"; it varies with the server). */
const USUAL_DEFAULT_CTX = 4096;

/** The most tokens one local call of a default conversation can need (prompt and reply), an upper bound like the cost estimate's. */
export function localTokensNeeded(config: Pick<Config, 'maxTurns' | 'defaultMaxTokens'>, contextTurns = DEFAULT_CONTEXT_TURNS): number {
  const history = Math.min(config.maxTurns - 1, contextTurns) * 2;
  return (1 + history + 1) * config.defaultMaxTokens;
}

function contextLengthOf(modelInfo: unknown): number | undefined {
  if (!modelInfo || typeof modelInfo !== 'object') return undefined;
  const info = modelInfo as Record<string, unknown>;
  const arch = info['general.architecture'];
  const v = typeof arch === 'string' ? info[`${arch}.context_length`] : undefined;
  const any = v ?? Object.entries(info).find(([k]) => k.endsWith('.context_length'))?.[1];
  return typeof any === 'number' ? any : undefined;
}

async function checkHost(host: string, configured: boolean, ctx: Parameters<Check>[0]): Promise<CheckResult[]> {
  const { config } = ctx;
  const model = config.ollamaModel;
  const client = new Ollama({ host, fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(ctx.timeoutMs) }) });
  let version: string;
  try {
    version = (await within(client.version(), ctx.timeoutMs, `Ollama at ${host}`)).version;
  } catch (err) {
    if (!configured)
      return [
        skip(
          'ollama.server',
          `OLLAMA_HOST unset and nothing answers at its default ${host}: \`npm start\` runs the Ollama emulator in its place`,
        ),
      ];
    return [
      fail(
        'ollama.server',
        `${host} does not answer /api/version: ${describeError((err as { cause?: unknown }).cause ?? err)}`,
        'start Ollama there (ollama serve), or point OLLAMA_HOST at it',
        config.ollamaHosts ? 'OLLAMA_HOSTS' : 'OLLAMA_HOST',
      ),
    ];
  }
  const out: CheckResult[] = [ok('ollama.server', `${host} answers, Ollama ${version}`)];
  let show: { model_info?: unknown; capabilities?: string[] };
  try {
    show = (await within(client.show({ model }), ctx.timeoutMs, `Ollama /api/show at ${host}`)) as unknown as typeof show;
  } catch (err) {
    out.push(
      fail(
        'ollama.model',
        `${host} has no model "${model}": ${describeError(err)}`,
        `run \`ollama pull ${model}\` on that host (or start the workers with OLLAMA_PULL=true), or set OLLAMA_MODEL to a pulled model`,
        'OLLAMA_MODEL',
      ),
    );
    return out;
  }
  out.push(ok('ollama.model', `"${model}" is pulled on ${host}`));

  const trained = contextLengthOf(show.model_info);
  const need = localTokensNeeded(config);
  const running = await within(client.ps(), ctx.timeoutMs, 'Ollama /api/ps')
    .then(
      (ps) =>
        (
          ps.models.find((m) => m.name === model || m.model === model || m.name === `${model}:latest`) as
            | { context_length?: number }
            | undefined
        )?.context_length,
    )
    .catch(() => undefined);
  const trainedText = trained ? `model context ${trained}` : 'model context length not reported';
  const needText = `a default conversation sends up to about ${need} tokens (MAX_TURNS ${config.maxTurns}, DEFAULT_MAX_TOKENS ${config.defaultMaxTokens}, ${DEFAULT_CONTEXT_TURNS} turns of history)`;
  if (trained && need > trained) {
    out.push(
      warn(
        'ollama.context',
        `${trainedText}, but ${needText}: longer prompts are cut`,
        "lower MAX_TURNS or DEFAULT_MAX_TOKENS (or a conversation's contextTurns), or use a model with a longer context",
        'DEFAULT_MAX_TOKENS',
      ),
    );
  } else if (config.ollamaNumCtx !== undefined) {
    if (trained && config.ollamaNumCtx > trained)
      out.push(
        warn(
          'ollama.context',
          `OLLAMA_NUM_CTX ${config.ollamaNumCtx} is above the ${trainedText}`,
          `set OLLAMA_NUM_CTX to at most ${trained}`,
          'OLLAMA_NUM_CTX',
        ),
      );
    else if (config.ollamaNumCtx < need)
      out.push(
        warn(
          'ollama.context',
          `OLLAMA_NUM_CTX ${config.ollamaNumCtx}, but ${needText}: Ollama cuts longer prompts silently`,
          `set OLLAMA_NUM_CTX to at least ${need}`,
          'OLLAMA_NUM_CTX',
        ),
      );
    else
      out.push(
        ok(
          'ollama.context',
          `OLLAMA_NUM_CTX ${config.ollamaNumCtx} holds what ${needText.replace(/^a default conversation sends/, 'a conversation sends')}; ${trainedText}`,
        ),
      );
  } else {
    const ctxNow = running ?? USUAL_DEFAULT_CTX;
    const source = running
      ? `the loaded model runs with context ${running} (/api/ps)`
      : `OLLAMA_NUM_CTX unset: the server's default context applies (often ${USUAL_DEFAULT_CTX}; it depends on OLLAMA_CONTEXT_LENGTH and the GPU)`;
    if (ctxNow < need)
      out.push(
        warn(
          'ollama.context',
          `${source}, but ${needText}: Ollama cuts longer prompts silently`,
          `set OLLAMA_NUM_CTX to at least ${need}`,
          'OLLAMA_NUM_CTX',
        ),
      );
    else out.push(ok('ollama.context', `${source}; ${needText}; ${trainedText}`));
  }

  const caps = show.capabilities;
  if (!Array.isArray(caps))
    out.push(ok('ollama.thinking', `"${model}" reports no capabilities (an Ollama older than the capabilities field): thinking unknown`));
  else if (caps.includes('thinking'))
    out.push(
      ok(
        'ollama.thinking',
        `"${model}" can think (capabilities: ${caps.join(', ')}): its reasoning counts against num_predict${/^gpt-oss/.test(model) ? '; gpt-oss cannot turn thinking off, only lower it' : ''}`,
      ),
    );
  else out.push(ok('ollama.thinking', `"${model}" does not think (capabilities: ${caps.join(', ')})`));
  return out;
}

export const ollamaCheck: Check = async (ctx) => {
  const { config } = ctx;
  const configured = Boolean(config.ollamaHost || config.ollamaHosts);
  const hosts = ollamaPoolOf(config).map((e) => e.url);
  const lines = await Promise.all(hosts.map((h) => checkHost(h, configured, ctx)));
  // With several hosts, say which host each line is about (the host is in every `found`).
  return lines.flat();
};
