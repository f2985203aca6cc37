/**
 * An Ollama emulator that the unmodified `ollama` npm client can call with only its `host` changed:
 * `POST /api/chat` and `POST /api/generate` (NDJSON streaming by default, like real Ollama, or one
 * JSON object with `stream: false`), `GET /api/tags`, `GET /api/version`, `POST /api/show`,
 * `GET /api/ps` and `GET /`. Errors are `{"error": "..."}` with Ollama's statuses.
 *
 * Replies are deterministic, start with `[emulated ollama <model>]` and read like a follow-up
 * question about the last user message. `options.num_predict` truncates the reply (whitespace words
 * are the tokens, `done_reason: 'length'`); `options.temperature` is part of the reply's seed.
 *
 * @example
 * const emu = await startOllamaEmulator({ port: 0 });
 * const ollama = new Ollama({ host: emu.url });
 * const reply = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Hi' }] });
 * await emu.close();
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { countTokens, ollamaReply, truncateWords, words } from './emulated-text';
import { sendJson, startEmulatorServer, type EmulatorContext, type EmulatorHandle, type EmulatorRequest } from './emulator-server';
import { FaultInjector, type FaultSpec, type InjectedFault } from './fault-injector';

export type { EmulatorHandle } from './emulator-server';

/** Options of {@link startOllamaEmulator}. */
export interface OllamaEmulatorOptions {
  /** Port; default 0 (a free port). `npm run emulators` uses OLLAMA_EMULATOR_PORT (11435). */
  port?: number;
  /** Interface; default `127.0.0.1`. */
  host?: string;
  /** Latency added to every chat/generate call before the first byte, in ms. Default 0. */
  latencyMs?: number;
  /** Models "pulled" on this server; a name without a tag means `:latest`. Default `['llama3.2', 'llama3.2:latest', 'llama2:latest']`. */
  models?: string[];
  /** Fault rules active from the start (and restored by `faults.reset()`). Default none. */
  faults?: FaultSpec[];
  /** Randomness for rate-based faults. Default `Math.random`. */
  random?: () => number;
}

/** Reported by `GET /api/version`. */
export const OLLAMA_EMULATOR_VERSION = '0.12.0-emulated';

const DEFAULT_MODELS = ['llama3.2', 'llama3.2:latest', 'llama2:latest'];

/** Ollama treats `name` and `name:latest` as the same model. */
function normalise(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

function sendError(res: ServerResponse, status: number, error: string): void {
  sendJson(res, status, { error });
}

const FAULT_MESSAGES: Record<number, string> = {
  400: 'invalid request (emulated fault)',
  404: 'model not found (emulated fault)',
  429: 'too many requests, please try again later (emulated fault)',
  500: 'llama runner process has terminated: exit status 2 (emulated fault)',
  502: 'bad gateway (emulated fault)',
  503: 'server busy, please try again.  maximum pending requests exceeded (emulated fault)',
};

const MIDSTREAM_MESSAGE = 'an error was encountered while running the model: unexpected EOF (emulated fault)';

class BadRequest extends Error {}

interface Options {
  numPredict?: number;
  temperature: number;
}

function readOptions(raw: unknown): Options {
  if (raw === undefined || raw === null) return { temperature: 0 };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new BadRequest('options must be an object');
  const o = raw as Record<string, unknown>;
  if (o.temperature !== undefined && typeof o.temperature !== 'number') throw new BadRequest('option "temperature" must be of type float');
  if (o.num_predict !== undefined && !Number.isInteger(o.num_predict)) throw new BadRequest('option "num_predict" must be of type integer');
  const n = o.num_predict as number | undefined;
  // -1 (infinite) and -2 (fill context) mean "no limit" in Ollama.
  return { numPredict: n !== undefined && n >= 0 ? n : undefined, temperature: (o.temperature as number | undefined) ?? 0 };
}

interface ChatMessage {
  role: string;
  content: string;
}

interface Completion {
  text: string;
  doneReason: 'stop' | 'length' | 'load';
  promptEvalCount: number;
  evalCount: number;
}

function complete(model: string, prompt: string | undefined, promptTexts: string[], options: Options): Completion {
  const promptEvalCount = promptTexts.reduce((n, t) => n + countTokens(t), 0);
  if (prompt === undefined) return { text: '', doneReason: 'load', promptEvalCount: 0, evalCount: 0 };
  const full = ollamaReply(model, prompt, options.temperature);
  const { text, truncated } = options.numPredict === undefined ? { text: full, truncated: false } : truncateWords(full, options.numPredict);
  return { text, doneReason: truncated ? 'length' : 'stop', promptEvalCount, evalCount: countTokens(text) };
}

/** The final chunk's statistics, durations in nanoseconds like Ollama's. */
function finalFields(c: Completion, startedAt: bigint): Record<string, unknown> {
  const promptEvalDuration = c.promptEvalCount * 200_000;
  const evalDuration = c.evalCount * 5_000_000;
  const loadDuration = 1_000_000;
  const elapsed = Number(process.hrtime.bigint() - startedAt);
  return {
    done: true,
    done_reason: c.doneReason,
    total_duration: Math.max(elapsed, loadDuration + promptEvalDuration + evalDuration),
    load_duration: loadDuration,
    prompt_eval_count: c.promptEvalCount,
    prompt_eval_duration: promptEvalDuration,
    eval_count: c.evalCount,
    eval_duration: evalDuration,
  };
}

/** Splits the reply into streamed pieces that concatenate back to it exactly. */
function pieces(text: string): string[] {
  return words(text).map((w, i) => (i === 0 ? w : ` ${w}`));
}

function writeLine(res: ServerResponse, obj: unknown): void {
  if (!res.destroyed) res.write(`${JSON.stringify(obj)}\n`);
}

function applyFault(fault: InjectedFault, res: ServerResponse, stream: boolean, partial: (n: number) => unknown[]): boolean {
  switch (fault.kind) {
    case 'hang':
      // Never answer: the socket stays open until the client aborts or the emulator closes.
      return true;
    case 'malformed':
      res.writeHead(200, { 'content-type': stream ? 'application/x-ndjson' : 'application/json; charset=utf-8' });
      res.end('emulated malformed response: this is not JSON\n');
      return true;
    case 'midstream-error':
      if (!stream) {
        sendError(res, 500, fault.message ?? MIDSTREAM_MESSAGE);
        return true;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const chunk of partial(2)) writeLine(res, chunk);
      writeLine(res, { error: fault.message ?? MIDSTREAM_MESSAGE });
      res.end();
      return true;
    case 'validation':
      sendError(res, 400, fault.message ?? 'invalid options: emulated validation fault');
      return true;
    case 'status': {
      const status = fault.status ?? 500;
      sendError(res, status, fault.message ?? FAULT_MESSAGES[status] ?? `emulated HTTP ${status} (emulated fault)`);
      return true;
    }
  }
}

function tagEntry(name: string, modifiedAt: string) {
  const family = name.split(':')[0]!.replace(/[\d.]+$/, '') || 'llama';
  return {
    name,
    model: name,
    modified_at: modifiedAt,
    size: 2_019_393_189,
    digest: createHash('sha256').update(name).digest('hex'),
    details: { parent_model: '', format: 'gguf', family, families: [family], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
  };
}

/**
 * Starts the Ollama emulator (HTTP/1.1) and resolves once it listens.
 * Control routes: `POST|DELETE|GET /_emulator/faults`, `GET|DELETE /_emulator/stats`.
 */
export async function startOllamaEmulator(opts: OllamaEmulatorOptions = {}): Promise<EmulatorHandle> {
  const faults = new FaultInjector({ latencyMs: opts.latencyMs, faults: opts.faults, random: opts.random });
  const models = [...new Set((opts.models ?? DEFAULT_MODELS).map(normalise))];
  const modifiedAt = new Date().toISOString();

  async function infer(kind: 'chat' | 'generate', req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> {
    const startedAt = process.hrtime.bigint();
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(req.body.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (err) {
      ctx.faults.decide(kind, undefined, false);
      sendError(res, 400, `invalid JSON body: ${(err as Error).message}`);
      return;
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const fault = ctx.faults.decide(kind, model || undefined);
    if (model === '') {
      sendError(res, 400, 'model is required');
      return;
    }
    const stream = body.stream !== false;
    if (!(await ctx.delay(ctx.faults.latencyMs))) return;

    let c: Completion;
    try {
      const options = readOptions(body.options);
      if (kind === 'chat') {
        const messages = body.messages ?? [];
        if (!Array.isArray(messages) || messages.some((m: ChatMessage) => typeof m?.role !== 'string' || (m.content !== undefined && typeof m.content !== 'string'))) {
          throw new BadRequest('messages must be an array of { role, content } with string fields');
        }
        const last = [...(messages as ChatMessage[])].reverse().find((m) => m.role === 'user');
        const prompt = messages.length === 0 ? undefined : (last?.content ?? '');
        c = complete(model, prompt, (messages as ChatMessage[]).map((m) => m.content ?? ''), options);
      } else {
        if (body.prompt !== undefined && typeof body.prompt !== 'string') throw new BadRequest('prompt must be a string');
        if (body.system !== undefined && typeof body.system !== 'string') throw new BadRequest('system must be a string');
        const prompt = (body.prompt as string | undefined) ?? '';
        c = complete(model, prompt === '' ? undefined : prompt, [(body.system as string | undefined) ?? '', prompt], options);
      }
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      sendError(res, 400, err.message);
      return;
    }

    const createdAt = () => new Date().toISOString();
    const chunk = (content: string, done: boolean) =>
      kind === 'chat'
        ? { model, created_at: createdAt(), message: { role: 'assistant', content }, done }
        : { model, created_at: createdAt(), response: content, done };
    if (fault && applyFault(fault, res, stream, (n) => pieces(c.text || '[emulated] ...').slice(0, n).map((p) => chunk(p, false)))) return;
    if (!models.includes(normalise(model))) {
      sendError(res, 404, `model "${model}" not found, try pulling it first`);
      return;
    }

    const context = kind === 'generate' && c.doneReason !== 'load' ? { context: Array.from({ length: c.promptEvalCount + c.evalCount }, (_, i) => 1000 + i) } : {};
    if (!stream) {
      sendJson(res, 200, { ...chunk(c.text, true), ...finalFields(c, startedAt), ...context });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const piece of pieces(c.text)) {
      if (ctx.clientGone()) return;
      writeLine(res, chunk(piece, false));
    }
    writeLine(res, { ...chunk('', true), ...finalFields(c, startedAt), ...context });
    res.end();
  }

  const router = async (req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> => {
    const route = `${req.method} ${req.path}`;
    switch (route) {
      case 'POST /api/chat':
        return infer('chat', req, res, ctx);
      case 'POST /api/generate':
        return infer('generate', req, res, ctx);
      case 'GET /api/tags':
        ctx.faults.decide('tags', undefined, false);
        return sendJson(res, 200, { models: models.map((m) => tagEntry(m, modifiedAt)) });
      case 'GET /api/ps':
        ctx.faults.decide('ps', undefined, false);
        return sendJson(res, 200, { models: [] });
      case 'GET /api/version':
        ctx.faults.decide('version', undefined, false);
        return sendJson(res, 200, { version: OLLAMA_EMULATOR_VERSION });
      case 'POST /api/show': {
        let name = '';
        try {
          const b = JSON.parse(req.body.toString('utf8')) as { model?: unknown; name?: unknown };
          name = typeof b.model === 'string' ? b.model : typeof b.name === 'string' ? b.name : '';
        } catch {
          // handled below as a missing model
        }
        ctx.faults.decide('show', name || undefined, false);
        if (name === '') return sendError(res, 400, 'model is required');
        if (!models.includes(normalise(name))) return sendError(res, 404, `model '${name}' not found`);
        const { details } = tagEntry(normalise(name), modifiedAt);
        return sendJson(res, 200, {
          license: 'emulated model: no license',
          modelfile: `# Modelfile generated by the Ollama emulator\nFROM ${normalise(name)}\n`,
          parameters: '',
          template: '{{ .Prompt }}',
          details,
          model_info: { 'general.architecture': details.family, 'general.parameter_count': 3_212_749_888 },
          capabilities: ['completion'],
          modified_at: modifiedAt,
        });
      }
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Ollama is running (emulated)');
        return;
      default:
        return sendError(res, 404, `the emulator has no route ${route}`);
    }
  };

  return startEmulatorServer({ host: opts.host, port: opts.port, faults, router, sendError });
}
