/**
 * The CLI's client of the producer's HTTP API: submit, status, list, transcript and the live event
 * stream. Sends the API key (when given) as `x-api-key`.
 *
 * @example
 * const api = new ApiClient({ url: 'http://127.0.0.1:8080' });
 * const { conversationId } = await api.submit({ initialQuery: 'Why is the sky blue?', maxTurns: 3 });
 * for await (const ev of api.events(conversationId)) console.log(ev.event);
 */
import type { ConversationSubmitResult, ConversationSummary, ConversationView, EstimateView, PruneView } from '../api/http-contract';
import { readSse, type SseMessage } from './sse-reader';

export interface ApiClientOptions {
  /** Producer base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Where `url` came from, for the "cannot reach" message. Default `default`. */
  urlFrom?: UrlSource;
  apiKey?: string;
  /** Injected for tests and proxies. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

export interface SubmitResponse {
  conversationId: string;
  status: string;
  statusUrl: string;
  transcriptUrl: string;
  warnings?: string[];
}

/** A non-2xx answer, with the API's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class ApiClient {
  readonly url: string;
  readonly urlFrom: UrlSource;
  private readonly apiKey?: string;
  private readonly fetch: typeof globalThis.fetch;

  constructor(opts: ApiClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.urlFrom = opts.urlFrom ?? 'default';
    this.apiKey = opts.apiKey;
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** Absolute URL of a producer path. */
  link(path: string): string {
    return `${this.url}${path}`;
  }

  async submit(body: Record<string, unknown>): Promise<SubmitResponse> {
    return (await this.request('POST', '/conversation', body)).json() as Promise<SubmitResponse>;
  }

  /** A branch of conversation `id` (`POST /conversation/:id/fork`). */
  async fork(id: string, body: Record<string, unknown>): Promise<ConversationSubmitResult> {
    return (await this.request('POST', `/conversation/${encodeURIComponent(id)}/fork`, body)).json() as Promise<ConversationSubmitResult>;
  }

  async status(id: string): Promise<ConversationView> {
    return (await this.request('GET', `/conversation/${encodeURIComponent(id)}`)).json() as Promise<ConversationView>;
  }

  async list(limit = 20): Promise<ConversationSummary[]> {
    const res = await this.request('GET', `/conversations?limit=${limit}`);
    return ((await res.json()) as { conversations: ConversationSummary[] }).conversations;
  }

  /** The worst-case cost of running `body.seeds` (`POST /estimate`). */
  async estimate(body: Record<string, unknown>): Promise<EstimateView> {
    return (await this.request('POST', '/estimate', body)).json() as Promise<EstimateView>;
  }

  /** Removes archived conversations finished before `before` and/or of run `run`, with their transcripts (`DELETE /archive`). */
  async prune(q: { before?: string; run?: string }): Promise<PruneView> {
    const qs = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
    return (await this.request('DELETE', `/archive?${qs}`)).json() as Promise<PruneView>;
  }

  async transcript(id: string): Promise<string> {
    return (await this.request('GET', `/conversation/${encodeURIComponent(id)}/transcript`)).text();
  }

  /**
   * The body of an export (`/runs/:id/export` or `/conversation/:id/export` with its query), as
   * a stream of bytes read at the caller's pace.
   */
  async exportBody(path: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.request('GET', path, undefined, signal, 'application/x-ndjson, text/csv');
    return (res.body ?? []) as unknown as AsyncIterable<Uint8Array>;
  }

  /** A run export's body and how many of the run's conversations it lacks (`X-Missing-Conversations`: expired). */
  async exportDownload(path: string, signal?: AbortSignal): Promise<{ body: AsyncIterable<Uint8Array>; missing: number; total: number }> {
    const res = await this.request(
      'GET',
      path,
      undefined,
      signal,
      'application/x-ndjson, text/csv, application/vnd.apache.parquet, application/zip',
    );
    return {
      body: (res.body ?? []) as unknown as AsyncIterable<Uint8Array>,
      missing: Number(res.headers.get('x-missing-conversations') ?? 0),
      total: Number(res.headers.get('x-run-conversations') ?? 0),
    };
  }

  /** The conversation's live events (`snapshot`, `cloud`, `local`, `status`, `end`) until the server closes. */
  async *events(id: string, signal?: AbortSignal): AsyncGenerator<SseMessage> {
    const res = await this.request('GET', `/conversation/${encodeURIComponent(id)}/events`, undefined, signal, 'text/event-stream');
    if (!res.body) return;
    yield* readSse(res.body as unknown as AsyncIterable<Uint8Array>);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    accept = 'application/json',
  ): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetch(this.link(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (err) {
      throw unreachable(this.url, err, this.urlFrom);
    }
    return checkOk(res, `${method} ${path}`);
  }
}

/** Where the producer's URL came from: `--url`, `LLMCONV_URL`, or the default (the local stack). */
export type UrlSource = 'flag' | 'env' | 'default';

/**
 * The error of a request that got no answer (refused, reset, bad host): names the URL, where it
 * came from and what to change (`LLMCONV_URL` or `--url`, or start the local stack).
 */
export function unreachable(url: string, err: unknown, from: UrlSource = 'default'): ApiError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  const origin = from === 'flag' ? 'from --url' : from === 'env' ? 'from LLMCONV_URL' : 'the default';
  const fix =
    from === 'default'
      ? 'start the local stack with `npm start`, or set LLMCONV_URL (or --url) to your producer'
      : `is a producer running there? Start the local stack with \`npm start\`, or set ${from === 'flag' ? '--url (or LLMCONV_URL)' : 'LLMCONV_URL (or --url)'} to your producer`;
  return new ApiError(0, 'unreachable', `cannot reach ${url} (${origin}): ${why}. ${fix[0]!.toUpperCase()}${fix.slice(1)}`);
}

/**
 * The one check of every producer answer: the response when it is 2xx, else an {@link ApiError}
 * with the status and the code and message of the producer's JSON error (or the text it sent).
 */
export async function checkOk(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  const text = await res.text();
  let code = `http_${res.status}`;
  let message = text.slice(0, 300) || res.statusText;
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
  } catch {
    /* not JSON: keep the text */
  }
  throw new ApiError(res.status, code, `${what}: ${res.status} ${message}`);
}
