/**
 * An Ollama emulator that the unmodified `ollama` npm client can call with only its `host` changed:
 * `POST /api/chat` and `POST /api/generate` (NDJSON streaming by default, like real Ollama, or one
 * JSON object with `stream: false`), `GET /api/tags`, `GET /api/version`, `POST /api/show`,
 * `GET /api/ps`, `POST /api/pull` and `GET /`. Errors are `{"error": "..."}` with Ollama's statuses
 * and wording (ollama/ollama `server/routes.go`: `model 'x' not found`, `"x" does not support thinking`).
 *
 * Replies are deterministic, start with `[emulated ollama <model>]` and read like a follow-up
 * question about the last user message. `options.num_predict` truncates the reply (whitespace words
 * are the tokens, `done_reason: 'length'`); `options.temperature` is part of the reply's seed.
 *
 * Real behaviours reproduced (each from ollama/ollama, `server/routes.go` unless said otherwise):
 * - thinking models (qwen3, deepseek-r1, gpt-oss, magistral by name, {@link isThinkingModel}) think
 *   unless the request says `think: false`; the reasoning goes to `message.thinking` (`thinking` on
 *   generate) and counts against `num_predict`, so the answer can come back empty with
 *   `done_reason: 'length'`; `think: true` on another model is a 400;
 * - gpt-oss cannot stop thinking: `think: true`/`false` are ignored (it thinks at its default,
 *   "medium") and only the levels `"low"`/`"medium"`/`"high"` (`"max"` = high, v0.21.3+) change how
 *   long it thinks (docs/capabilities/thinking.mdx, ollama/ollama#11751, `server/routes.go`
 *   `shouldUseHarmony`); the emulator's lengths are its own: low a quarter of `thinkingTokens`,
 *   high twice;
 * - `/api/show` has `model_info["<arch>.context_length"]` (the trained context, {@link modelContextOf})
 *   and `capabilities` (`thinking`, and `tools` for gpt-oss); `/api/ps` has the loaded model's
 *   `context_length`; a call with another context than the loaded one reloads the model
 *   (`server/sched.go` `needsReload`), paying `coldLoadMs` again;
 * - the context of a call is `options.num_ctx`, else the server's default (`contextLength`, as
 *   OLLAMA_CONTEXT_LENGTH or the VRAM tier set it), never more than the model's trained context;
 * - `truncate: false` (v0.12.6+, `version`) on a prompt longer than the context is a 400 (its text
 *   by version, {@link contextExceededMessage}) instead of a cut; older versions ignore the field;
 * - a model is loaded on its first call and stays loaded for `keep_alive` (default 5m, `0` unloads,
 *   negative keeps it): a call that finds it unloaded waits `coldLoadMs` first (`load_duration`);
 *   a chat without messages (or generate without prompt) only loads it (`done_reason: 'load'`);
 * - the prompt is cut to the call's context the way `server/prompt.go` `chatPrompt` does: oldest
 *   non-system messages dropped first, the last always kept; `prompt_eval_count` counts what was
 *   kept (the answer gives no other sign);
 * - prefix reuse while loaded: the runner keeps the last prompt's KV cache per loaded model and
 *   evaluates only what follows the longest common prefix (ollama/ollama `runner/ollamarunner/
 *   cache.go` `LoadCacheSlot`, `countCommonPrefix`; at least one token is evaluated again), so a
 *   prompt that starts with the previous one's costs only its new tokens: `prompt_eval_duration`
 *   and the wait (`msPerPromptToken` per evaluated token) count those, while `prompt_eval_count`
 *   stays the whole prompt. That is today's Ollama (ollama/ollama at fb30760, 2026-08-21, read
 *   2026-12-04): GGML models run on llama-server since #16031 (2026-05-29, the Go runners removed),
 *   llm/llama_server.go asks it with `cache_prompt: true` and answers `prompt_eval_count` =
 *   `timings.cache_n + timings.prompt_n` ("to preserve Ollama's pre-0.30 full-context
 *   prompt_eval_count semantics", #16428, 2026-06-02: the removed runner/ollamarunner set
 *   `numPromptInputs` before the cache lookup too) and `prompt_eval_duration` = `timings.prompt_ms`,
 *   the evaluated tokens' time; `cache_n` is not passed on. So the answer shows the reuse only in
 *   `prompt_eval_duration` (providers/ollama-provider.ts records it as `promptEvalMs`); what was
 *   evaluated is counted on the handle (`promptTokens`); a cold load or another context starts empty;
 * - models in `tooLargeModels` fail with the 500 Ollama gives when a model does not fit in memory;
 * - `/api/pull` streams the real progress lines (`server/images.go` `PullModel`, `server/download.go`)
 *   and adds the model; a name not in `registry` ends with `pull model manifest: file does not exist`.
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
  /** Extra wait of a call that finds its model unloaded (cold load), in ms. Default 0. */
  coldLoadMs?: number;
  /** Context window when a request gives no `options.num_ctx` (Ollama's default is 4096 on most hosts); 0: never cut. Default 4096. */
  contextLength?: number;
  /** Words of reasoning a thinking model produces before its answer (gpt-oss at "medium"). Default 40. */
  thinkingTokens?: number;
  /** Reported by `/api/version` and deciding version-dependent behaviour (`truncate`, `think: "max"`). Default {@link OLLAMA_EMULATOR_VERSION}. */
  version?: string;
  /** Trained context per model (`/api/show` `model_info`), by name without tag; overrides {@link modelContextOf}. */
  modelContexts?: Record<string, number>;
  /** Models that answer every call with Ollama's "model requires more system memory" 500. Default none. */
  tooLargeModels?: string[];
  /** Models `/api/pull` can fetch; default: any name. */
  registry?: string[];
  /** Wait between two pull progress lines, in ms. Default 2. */
  pullStepMs?: number;
  /**
   * Chat/generate calls run at once, like `OLLAMA_NUM_PARALLEL`; more wait in a queue of
   * `maxQueue`, and beyond it get Ollama's 503. Default 0: no limit (the calls are only counted,
   * `stats().maxInFlight`).
   */
  slots?: number;
  /** Calls that may wait for a slot (`OLLAMA_MAX_QUEUE`, Ollama's default 512). */
  maxQueue?: number;
  /** Wait per evaluated prompt token, in ms (prefix reuse makes it smaller). Default 0. */
  msPerPromptToken?: number;
}

/** `prompt_eval_duration` per evaluated prompt token, in ns (0.2 ms; the tokens past a reused prefix only). */
export const PROMPT_EVAL_NS_PER_TOKEN = 200_000;

/** The Ollama emulator's handle: with the prompt tokens sent and evaluated (prefix reuse) so far. */
export interface OllamaEmulatorHandle extends EmulatorHandle {
  promptTokens: { sent: number; evaluated: number };
}

/**
 * The 503 body Ollama answers when its queue is full (ollama/ollama `server/sched.go` `ErrMaxQueue`,
 * answered with 503 by `server/routes.go`).
 */
export const MAX_QUEUE_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';

/** The 500 Ollama answers when a model does not fit (ollama/ollama `llm/server.go`, released versions). */
export const TOO_LARGE_MESSAGE = 'model requires more system memory (47.5 GiB) than is available (15.2 GiB)';

/** Whether Ollama would report the `thinking` capability for a model (its family, by name here). */
export function isThinkingModel(name: string): boolean {
  const base = name.split('/').pop()!.split(':')[0]!.toLowerCase();
  return /^(qwen3|deepseek-r1|gpt-oss|magistral)/.test(base);
}

/**
 * `keep_alive` in ms as Ollama decodes it (`api/types.go` `Duration.UnmarshalJSON`): a number is
 * seconds, a string a Go duration; negative means forever. Undefined when it cannot be read.
 */
export function keepAliveMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value < 0 ? Infinity : value * 1000;
  if (typeof value !== 'string') return undefined;
  if (value === '0') return 0;
  const m = /^(-)?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(value);
  if (!m) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const [, n, u] of m[2]!.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * unit[u!]!;
  return m[1] ? Infinity : ms;
}

const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;

/**
 * Reported by `GET /api/version` by default: the current release as of 2026-08-27 per a comment
 * on ollama/ollama#8008 (read 2026-12-02); the emulator's behaviour follows that version's source.
 */
export const OLLAMA_EMULATOR_VERSION = '0.33.2';

/** `a >= b` for dotted numeric versions (`0.12.6-rc1` reads as 0.12.6). */
export function versionAtLeast(a: string, b: string): boolean {
  const parts = (v: string) => (/^v?(\d+)\.(\d+)\.?(\d+)?/.exec(v) ?? []).slice(1, 4).map((x) => Number(x ?? 0));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return true;
}

/**
 * The 400's text for `truncate: false` on a prompt of `n` tokens in a context of `ctx`, by version:
 * v0.12.6-v0.29 the runner's `errorInputTooLong` "the input length exceeds the context length"
 * (runner/ollamarunner/runner.go, 6544e14); from v0.30.0 (9db4bdb, llama-server for every GGML
 * model) the prompt goes whole to llama-server, whose 400 body Ollama relays as the error text
 * (`llm/llama_server.go` `Completion` → `api.StatusError`); its wording is llama.cpp's, as in
 * ollama's own `llm/llama_server_test.go`. The relayed form (a JSON string inside `error`) is read
 * from the code path, not seen on a live server: less certain.
 */
export function contextExceededMessage(version: string, n: number, ctx: number): string {
  if (!versionAtLeast(version, '0.30.0')) return 'the input length exceeds the context length';
  return JSON.stringify({
    error: {
      code: 400,
      message: `request (${n} tokens) exceeds the available context size (${ctx} tokens), try increasing it`,
      type: 'exceed_context_size_error',
    },
  });
}

/**
 * Trained context lengths (`<arch>.context_length`) of the models the tests name, from their
 * ollama.com library pages (read 2026-12-02): llama3.2 128K, llama2 4K, qwen3 (0.6b-8b) 40K,
 * gpt-oss 128K. Any other name: 131072, the emulator's own choice, not a claim about that model.
 */
export function modelContextOf(name: string): number {
  const base = name.split('/').pop()!.split(':')[0]!.toLowerCase();
  if (base === 'llama2') return 4096;
  if (base.startsWith('qwen3')) return 40960;
  return 131072;
}

/** The architecture `/api/show` reports (`general.architecture`): gpt-oss is `gptoss` (fs/ggml/ggml.go). */
export function architectureOf(name: string): string {
  const base = name.split('/').pop()!.split(':')[0]!.toLowerCase();
  if (base.startsWith('gpt-oss')) return 'gptoss';
  if (base.startsWith('qwen3')) return 'qwen3';
  return base.replace(/[\d.]+$/, '') || 'llama';
}

/** Whether the model's thinking takes only levels (gpt-oss: `true`/`false` ignored). */
export function thinksInLevels(name: string): boolean {
  return architectureOf(name) === 'gptoss';
}

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
  numCtx?: number;
  temperature: number;
}

function readOptions(raw: unknown): Options {
  if (raw === undefined || raw === null) return { temperature: 0 };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new BadRequest('options must be an object');
  const o = raw as Record<string, unknown>;
  if (o.temperature !== undefined && typeof o.temperature !== 'number') throw new BadRequest('option "temperature" must be of type float');
  if (o.num_predict !== undefined && !Number.isInteger(o.num_predict)) throw new BadRequest('option "num_predict" must be of type integer');
  if (o.num_ctx !== undefined && !Number.isInteger(o.num_ctx)) throw new BadRequest('option "num_ctx" must be of type integer');
  const n = o.num_predict as number | undefined;
  const ctx = o.num_ctx as number | undefined;
  // -1 (infinite) and -2 (fill context) mean "no limit" in Ollama.
  return {
    numPredict: n !== undefined && n >= 0 ? n : undefined,
    numCtx: ctx !== undefined && ctx > 0 ? ctx : undefined,
    temperature: (o.temperature as number | undefined) ?? 0,
  };
}

interface ChatMessage {
  role: string;
  content: string;
}

interface Completion {
  text: string;
  thinking: string;
  doneReason: 'stop' | 'length' | 'load';
  promptEvalCount: number;
  evalCount: number;
  /** ms spent loading the model (cold load). */
  loadMs: number;
  /** Prompt tokens actually run (past the reused KV-cache prefix); default `promptEvalCount`. */
  evaluated?: number;
}

/**
 * The tokens of the prompt Ollama evaluates for `texts` (oldest first, `system` marking system
 * messages) within a window of `numCtx`: as `server/prompt.go` `chatPrompt`, drop the oldest
 * messages but keep system messages and the last one; what still does not fit is cut by the runner.
 */
function promptTokens(texts: { system: boolean; text: string }[], numCtx: number | undefined): number {
  const counts = texts.map((t) => countTokens(t.text));
  const total = counts.reduce((a, b) => a + b, 0);
  if (numCtx === undefined || total <= numCtx) return total;
  for (let i = 1; i < texts.length; i++) {
    const kept = counts.reduce((n, c, j) => n + (j >= i || texts[j]!.system ? c : 0), 0);
    if (kept <= numCtx) return kept;
  }
  return numCtx;
}

/** Deterministic reasoning of `n` words about the prompt. */
function thinkingText(prompt: string, n: number): string {
  const steps = `Okay, the user wrote "${prompt.split(/\s+/).slice(0, 8).join(' ')}". Let me think about what they really want to know, which parts are unclear, and which follow-up question would help most.`;
  const out: string[] = [];
  while (out.length < n) out.push(...steps.split(/\s+/));
  return out.slice(0, n).join(' ');
}

function complete(
  model: string,
  prompt: string | undefined,
  promptEvalCount: number,
  options: Options,
  thinkWords: number,
): Omit<Completion, 'loadMs'> {
  if (prompt === undefined) return { text: '', thinking: '', doneReason: 'load', promptEvalCount: 0, evalCount: 0 };
  let budget = options.numPredict;
  let thinking = '';
  if (thinkWords > 0) {
    // The reasoning comes first and uses the same num_predict budget as the answer.
    const t =
      budget === undefined
        ? { text: thinkingText(prompt, thinkWords), truncated: false }
        : truncateWords(thinkingText(prompt, thinkWords), budget);
    thinking = t.text;
    if (budget !== undefined) budget -= countTokens(thinking);
    if (t.truncated || budget === 0) return { text: '', thinking, doneReason: 'length', promptEvalCount, evalCount: countTokens(thinking) };
  }
  const full = ollamaReply(model, prompt, options.temperature);
  const { text, truncated } = budget === undefined ? { text: full, truncated: false } : truncateWords(full, budget);
  return {
    text,
    thinking,
    doneReason: truncated ? 'length' : 'stop',
    promptEvalCount,
    evalCount: countTokens(thinking) + countTokens(text),
  };
}

/** The final chunk's statistics, durations in nanoseconds like Ollama's. */
function finalFields(c: Completion, startedAt: bigint): Record<string, unknown> {
  const promptEvalDuration = (c.evaluated ?? c.promptEvalCount) * PROMPT_EVAL_NS_PER_TOKEN;
  const evalDuration = c.evalCount * 5_000_000;
  const loadDuration = Math.max(1_000_000, Math.round(c.loadMs * 1_000_000));
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
  const family = architectureOf(name);
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
export async function startOllamaEmulator(opts: OllamaEmulatorOptions = {}): Promise<OllamaEmulatorHandle> {
  const faults = new FaultInjector({ latencyMs: opts.latencyMs, faults: opts.faults, random: opts.random });
  const models = [...new Set((opts.models ?? DEFAULT_MODELS).map(normalise))];
  const modifiedAt = new Date().toISOString();
  const coldLoadMs = opts.coldLoadMs ?? 0;
  const contextLength = opts.contextLength ?? 4096;
  const thinkingTokens = opts.thinkingTokens ?? 40;
  const version = opts.version ?? OLLAMA_EMULATOR_VERSION;
  const trained = (name: string) => opts.modelContexts?.[name.split(':')[0]!] ?? modelContextOf(name);
  const tooLarge = new Set((opts.tooLargeModels ?? []).map(normalise));
  const registry = opts.registry === undefined ? undefined : new Set(opts.registry.map(normalise));
  const pullStepMs = opts.pullStepMs ?? 2;
  /** Loaded models → when their keep_alive runs out (epoch ms). */
  const loadedUntil = new Map<string, number>();
  /** Loaded models → the context they were loaded with (`/api/ps` `context_length`). */
  const loadedCtx = new Map<string, number>();
  /** Loaded models → the last prompt's tokens (the KV cache a next prompt may reuse). */
  const kvCache = new Map<string, string[]>();
  const promptStats = { sent: 0, evaluated: 0 };
  const msPerPromptToken = opts.msPerPromptToken ?? 0;

  /**
   * Loads the model if it is not loaded, or loaded with another context (a reload, as
   * `server/sched.go` `needsReload`), waiting `coldLoadMs`; returns the ms spent loading, or null if the client left.
   */
  async function load(model: string, keepAlive: unknown, ctx: EmulatorContext, numCtx: number): Promise<number | null> {
    const key = normalise(model);
    const cold = (loadedUntil.get(key) ?? 0) <= Date.now() || loadedCtx.get(key) !== numCtx;
    loadedCtx.set(key, numCtx);
    if (cold) kvCache.delete(key);
    if (cold && coldLoadMs > 0 && !(await ctx.delay(coldLoadMs))) return null;
    const ttl = keepAliveMs(keepAlive) ?? DEFAULT_KEEP_ALIVE_MS;
    if (ttl === 0) loadedUntil.delete(key);
    else loadedUntil.set(key, Date.now() + ttl);
    return cold ? coldLoadMs : 0;
  }

  const slots = opts.slots ?? 0;
  const maxQueue = opts.maxQueue ?? 512;
  let running = 0;
  const queue: (() => void)[] = [];

  /** Runs a model call in a slot (waiting in the queue, or a 503 when it is full) and counts it. */
  async function infer(kind: 'chat' | 'generate', req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> {
    if (slots > 0) {
      if (running >= slots) {
        if (queue.length >= maxQueue) {
          sendError(res, 503, MAX_QUEUE_MESSAGE);
          return;
        }
        // The slot is handed over by the call that frees it (so no newcomer slips in between).
        await new Promise<void>((resolve) => queue.push(resolve));
      } else {
        running++;
      }
    }
    const leave = ctx.faults.enter();
    try {
      await runInference(kind, req, res, ctx);
    } finally {
      leave();
      if (slots > 0) {
        const next = queue.shift();
        if (next) next();
        else running--;
      }
    }
  }

  async function runInference(kind: 'chat' | 'generate', req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> {
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

    let options: Options;
    let prompt: string | undefined;
    let texts: { system: boolean; text: string }[];
    try {
      options = readOptions(body.options);
      // Go's time.ParseDuration errors, as the JSON binding reports them (api/types.go Duration.UnmarshalJSON).
      if (body.keep_alive !== undefined && keepAliveMs(body.keep_alive) === undefined) {
        const v = String(body.keep_alive);
        throw new BadRequest(/^-?[\d.]+$/.test(v) ? `time: missing unit in duration "${v}"` : `time: invalid duration "${v}"`);
      }
      // api/types.go ThinkValue.UnmarshalJSON ("max" since v0.21.3, c2ebb4d).
      const levels = versionAtLeast(version, '0.21.3') ? ['high', 'medium', 'low', 'max'] : ['high', 'medium', 'low'];
      const levelList = levels.map((l) => `"${l}"`).join(', ');
      if (typeof body.think === 'string' && !levels.includes(body.think))
        throw new BadRequest(`invalid think value: "${body.think}" (must be ${levelList}, true, or false)`);
      if (body.think !== undefined && typeof body.think !== 'boolean' && typeof body.think !== 'string')
        throw new BadRequest(`think must be a boolean or string (${levelList}, true, or false)`);
      if (kind === 'chat') {
        const messages = body.messages ?? [];
        if (
          !Array.isArray(messages) ||
          messages.some((m: ChatMessage) => typeof m?.role !== 'string' || (m.content !== undefined && typeof m.content !== 'string'))
        ) {
          throw new BadRequest('messages must be an array of { role, content } with string fields');
        }
        const last = [...(messages as ChatMessage[])].reverse().find((m) => m.role === 'user');
        prompt = messages.length === 0 ? undefined : (last?.content ?? '');
        texts = (messages as ChatMessage[]).map((m) => ({ system: m.role === 'system', text: m.content ?? '' }));
      } else {
        if (body.prompt !== undefined && typeof body.prompt !== 'string') throw new BadRequest('prompt must be a string');
        if (body.system !== undefined && typeof body.system !== 'string') throw new BadRequest('system must be a string');
        const p = (body.prompt as string | undefined) ?? '';
        prompt = p === '' ? undefined : p;
        texts = [
          { system: true, text: (body.system as string | undefined) ?? '' },
          { system: false, text: p },
        ];
      }
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      sendError(res, 400, err.message);
      return;
    }
    const chunk = (content: string, done: boolean, thinking = '') =>
      kind === 'chat'
        ? { model, created_at: new Date().toISOString(), message: { role: 'assistant', content, ...(thinking ? { thinking } : {}) }, done }
        : { model, created_at: new Date().toISOString(), response: content, ...(thinking ? { thinking } : {}), done };
    if (
      fault &&
      applyFault(fault, res, stream, (n) =>
        pieces('[emulated] ... reply cut by a fault')
          .slice(0, n)
          .map((p) => chunk(p, false)),
      )
    )
      return;
    if (!models.includes(normalise(model))) {
      sendError(res, 404, `model '${model}' not found`);
      return;
    }
    const canThink = isThinkingModel(model);
    const asked = body.think === undefined ? canThink : body.think !== false;
    if (asked && !canThink) {
      sendError(res, 400, `"${model}" does not support thinking`);
      return;
    }
    // gpt-oss ignores true/false and thinks at its level (default medium); other models think or not.
    let thinkWords = asked ? thinkingTokens : 0;
    if (thinksInLevels(model)) {
      const level = typeof body.think === 'string' ? body.think : 'medium';
      thinkWords = level === 'low' ? Math.ceil(thinkingTokens / 4) : level === 'medium' ? thinkingTokens : thinkingTokens * 2;
    }
    if (tooLarge.has(normalise(model))) {
      sendError(res, 500, TOO_LARGE_MESSAGE);
      return;
    }
    // The call's context: num_ctx, else the server's default; never beyond what the model was trained for.
    const window =
      contextLength === 0 && options.numCtx === undefined ? undefined : Math.min(options.numCtx ?? contextLength, trained(model));
    const whole = texts.reduce((n, t) => n + countTokens(t.text), 0);
    if (window !== undefined && whole > window && body.truncate === false && versionAtLeast(version, '0.12.6')) {
      sendError(res, 400, contextExceededMessage(version, whole, window));
      return;
    }
    const loadMs = await load(model, body.keep_alive, ctx, window ?? 0);
    if (loadMs === null) return;
    const kept = promptTokens(texts, window);
    let evaluated = kept;
    if (prompt !== undefined) {
      // The prompt as the runner sees it: role-separated words; what the KV cache already holds is not evaluated again.
      const seq = texts.flatMap((t, i) => [`\u0000${i}:${t.system ? 's' : 'm'}`, ...words(t.text)]);
      const key = normalise(model);
      const prev = kvCache.get(key) ?? [];
      let common = 0;
      while (common < prev.length && common < seq.length && prev[common] === seq[common]) common++;
      // Separators are not tokens; a prompt cut to the context changes its prefix, so reuse counts only when nothing was cut.
      const reused = kept === whole ? seq.slice(0, common).filter((w) => !w.startsWith('\u0000')).length : 0;
      evaluated = Math.max(1, kept - reused);
      kvCache.set(key, seq);
      promptStats.sent += kept;
      promptStats.evaluated += evaluated;
      if (msPerPromptToken > 0 && !(await ctx.delay(evaluated * msPerPromptToken))) return;
    }
    const c: Completion = { ...complete(model, prompt, kept, options, thinkWords), loadMs, evaluated };

    const context =
      kind === 'generate' && c.doneReason !== 'load'
        ? { context: Array.from({ length: c.promptEvalCount + c.evalCount }, (_, i) => 1000 + i) }
        : {};
    if (!stream) {
      sendJson(res, 200, { ...chunk(c.text, true, c.thinking), ...finalFields(c, startedAt), ...context });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const piece of pieces(c.thinking)) {
      if (ctx.clientGone()) return;
      writeLine(res, chunk('', false, piece));
    }
    for (const piece of pieces(c.text)) {
      if (ctx.clientGone()) return;
      writeLine(res, chunk(piece, false));
    }
    writeLine(res, { ...chunk('', true), ...finalFields(c, startedAt), ...context });
    res.end();
  }

  /** `POST /api/pull`: the progress lines of ollama/ollama `server/images.go` `PullModel`, then the model is there. */
  async function pull(req: EmulatorRequest, res: ServerResponse, ctx: EmulatorContext): Promise<void> {
    let body: { model?: unknown; name?: unknown; stream?: unknown };
    try {
      body = JSON.parse(req.body.toString('utf8')) as typeof body;
    } catch (err) {
      ctx.faults.decide('pull', undefined, false);
      return sendError(res, 400, `invalid JSON body: ${(err as Error).message}`);
    }
    const name = typeof body.model === 'string' && body.model ? body.model : typeof body.name === 'string' ? body.name : '';
    const fault = ctx.faults.decide('pull', name || undefined);
    if (name === '') return sendError(res, 400, 'invalid model name');
    const stream = body.stream !== false;
    if (fault && applyFault(fault, res, stream, () => [{ status: 'pulling manifest' }])) return;
    const lines: Record<string, unknown>[] = [{ status: 'pulling manifest' }];
    const known = registry === undefined || registry.has(normalise(name));
    if (known) {
      // Three layers (weights, template, params) in four progress ticks each, like download.go's ticker.
      for (const [i, total] of [2_019_377_376, 1_429, 7_711].entries()) {
        const digest = `sha256:${createHash('sha256')
          .update(`${normalise(name)}#${i}`)
          .digest('hex')}`;
        for (let tick = 1; tick <= 4; tick++) {
          lines.push({ status: `pulling ${digest.slice(7, 19)}`, digest, total, completed: Math.round((total * tick) / 4) });
        }
      }
      lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' });
    }
    const failure = known ? undefined : 'pull model manifest: file does not exist';
    if (!stream) {
      if (!(await ctx.delay(pullStepMs * lines.length))) return;
      if (failure) return sendError(res, 500, failure);
      if (!models.includes(normalise(name))) models.push(normalise(name));
      return sendJson(res, 200, lines.at(-1));
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const line of lines) {
      if (ctx.clientGone()) return;
      // The manifest is written before "success" is sent: a client that stops reading there finds the model.
      if (line.status === 'success' && !models.includes(normalise(name))) models.push(normalise(name));
      writeLine(res, line);
      if (!(await ctx.delay(pullStepMs))) return;
    }
    if (failure) writeLine(res, { error: failure });
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
      case 'GET /api/ps': {
        ctx.faults.decide('ps', undefined, false);
        const now = Date.now();
        const loaded = [...loadedUntil].filter(([, until]) => until > now);
        return sendJson(res, 200, {
          models: loaded.map(([name, until]) => {
            const t = tagEntry(name, modifiedAt);
            return {
              name,
              model: name,
              size: t.size,
              digest: t.digest,
              details: t.details,
              size_vram: t.size,
              expires_at: new Date(Number.isFinite(until) ? until : Date.UTC(2318, 0, 1)).toISOString(),
              context_length: loadedCtx.get(name) || contextLength,
            };
          }),
        });
      }
      case 'POST /api/pull':
        return pull(req, res, ctx);
      case 'DELETE /api/delete': {
        // ollama/ollama server/routes.go DeleteHandler: 404 "model '%s' not found" when absent.
        let name = '';
        try {
          const b = JSON.parse(req.body.toString('utf8')) as { model?: unknown; name?: unknown };
          name = typeof b.model === 'string' && b.model ? b.model : typeof b.name === 'string' ? b.name : '';
        } catch {
          // handled below as a missing model
        }
        ctx.faults.decide('delete', name || undefined, false);
        const at = models.indexOf(normalise(name));
        if (at < 0) return sendError(res, 404, `model '${name}' not found`);
        models.splice(at, 1);
        loadedUntil.delete(normalise(name));
        loadedCtx.delete(normalise(name));
        res.writeHead(200).end();
        return;
      }
      case 'GET /api/version':
        ctx.faults.decide('version', undefined, false);
        return sendJson(res, 200, { version });
      case 'POST /api/show': {
        let name = '';
        try {
          const b = JSON.parse(req.body.toString('utf8')) as { model?: unknown; name?: unknown };
          name = typeof b.model === 'string' ? b.model : typeof b.name === 'string' ? b.name : '';
        } catch {
          // handled below as a missing model
        }
        ctx.faults.decide('show', undefined, false); // metadata, not a model call: byModel counts generations only
        if (name === '') return sendError(res, 400, 'model is required');
        if (!models.includes(normalise(name))) return sendError(res, 404, `model '${name}' not found`);
        const { details } = tagEntry(normalise(name), modifiedAt);
        return sendJson(res, 200, {
          license: 'emulated model: no license',
          modelfile: `# Modelfile generated by the Ollama emulator\nFROM ${normalise(name)}\n`,
          parameters: '',
          template: '{{ .Prompt }}',
          details,
          model_info: {
            'general.architecture': details.family,
            'general.parameter_count': 3_212_749_888,
            [`${details.family}.context_length`]: trained(name),
          },
          capabilities: thinksInLevels(name)
            ? ['completion', 'tools', 'thinking']
            : isThinkingModel(name)
              ? ['completion', 'thinking']
              : ['completion'],
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

  const handle = await startEmulatorServer({ host: opts.host, port: opts.port, faults, router, sendError });
  return { ...handle, promptTokens: promptStats };
}
