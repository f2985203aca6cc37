/**
 * The CLI's client of the `/runs` routes: upload a seed file as a stream (never read whole), a
 * run's progress, the list, its live progress events, cancel.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { RunSubmitResult, RunView } from '../api/http-contract';
import { ApiError, checkOk, unreachable, type UrlSource } from './api-client';
import { readSse, type SseMessage } from './sse-reader';

export interface RunClientOptions {
  url: string;
  urlFrom?: UrlSource;
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
}

/** The upload Content-Type of a seed file, from its extension: `.csv`, `.txt`, else NDJSON. */
export function seedContentType(file: string): string {
  if (/\.csv$/i.test(file)) return 'text/csv';
  if (/\.txt$/i.test(file)) return 'text/plain';
  return 'application/x-ndjson';
}

export class RunClient {
  private readonly url: string;
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly opts: RunClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /**
   * Streams `file` to `POST /runs` (or `POST /runs?run=<runId>`, which creates or appends).
   * `query` holds run options as query parameters, `options` the rest (the Run-Options header).
   */
  async submit(file: string, query: Record<string, string>, options?: Record<string, unknown>, runId?: string): Promise<RunSubmitResult> {
    const q = new URLSearchParams({ ...query, ...(runId ? { run: runId } : {}) });
    const body = Readable.toWeb(fs.createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    const headers: Record<string, string> = { 'content-type': seedContentType(file) };
    if (options && Object.keys(options).length) headers['run-options'] = JSON.stringify(options);
    const res = await this.request('POST', `/runs?${q}`, { body, headers, duplex: 'half' } as RequestInit);
    return (await res.json()) as RunSubmitResult;
  }

  async status(runId: string): Promise<RunView> {
    return (await (await this.request('GET', `/runs/${encodeURIComponent(runId)}`)).json()) as RunView;
  }

  /**
   * The id of the run `idOrName` addresses: a run with that id, else the one run named so
   * (`llmconv run seeds.jsonl --name sky-run`). Several of that name are an error naming their
   * ids; no run of that name leaves `idOrName` as it is (the route it is used on answers its 404).
   */
  async resolve(idOrName: string): Promise<string> {
    try {
      return (await this.status(idOrName)).runId;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    const named = (await this.list(1000)).filter((r) => r.name === idOrName);
    if (named.length === 1) return named[0]!.runId;
    if (named.length === 0) return idOrName;
    throw new ApiError(
      409,
      'ambiguous_run_name',
      `${named.length} runs are named "${idOrName}": ${named.map((r) => `${r.runId} (created ${r.createdAt})`).join(', ')}; name one by its id`,
    );
  }

  async list(limit = 20): Promise<RunView[]> {
    return ((await (await this.request('GET', `/runs?limit=${limit}`)).json()) as { runs: RunView[] }).runs;
  }

  async cancel(runId: string): Promise<RunView> {
    return (await (await this.request('DELETE', `/runs/${encodeURIComponent(runId)}`)).json()) as RunView;
  }

  /** `progress` events, then `end`, until the server closes. */
  async *events(runId: string, signal?: AbortSignal): AsyncGenerator<SseMessage> {
    const res = await this.request('GET', `/runs/${encodeURIComponent(runId)}/events`, {
      signal,
      headers: { accept: 'text/event-stream' },
    });
    if (res.body) yield* readSse(res.body as unknown as AsyncIterable<Uint8Array>);
  }

  private async request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...(init.headers as Record<string, string>) };
    if (this.opts.apiKey) headers['x-api-key'] = this.opts.apiKey;
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, { ...init, method, headers });
    } catch (err) {
      throw unreachable(this.url, err, this.opts.urlFrom);
    }
    return checkOk(res, `${method} ${path.split('?')[0]}`);
  }
}
