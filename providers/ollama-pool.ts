/**
 * The local model pool: an {@link LlmProvider} over several Ollama endpoints (OLLAMA_HOSTS, or the
 * one OLLAMA_HOST as a pool of one). Every call first takes a slot from a fleet-wide semaphore per
 * endpoint ({@link SlotSemaphore}, Redis leases in `coordination/slot-leases.ts`), least busy endpoint
 * first, so any number of worker processes on any hosts never run more calls on a host than its
 * slots. The lease is renewed every third of its length while the call runs and released on every
 * path (a killed worker's lease simply expires). With every slot taken the call waits, woken by
 * any release in the fleet, bounded by its abort signal and its timeout (which already carries the
 * conversation's deadline): waiting counts against the call's timeout.
 *
 * Health: each endpoint has a circuit breaker. `breakerFailures` consecutive connection errors or
 * 5xx (and failed health probes) open it: no call goes there for `breakerCooldownMs`, then a
 * probe (`probe`: `/api/version` and the model present) closes it again or keeps it open. Closed
 * endpoints are probed on the same period, so a host that lost its model drops out before a call
 * finds out. A call refused at connect (nothing was sent) moves at once to another endpoint.
 *
 * @example
 * const pool = createOllamaPool({ endpoints, leases, provider: (url) => createOllamaProvider({ host: url, ... }), probe, leaseMs: 30_000,
 *   breakerFailures: 3, breakerCooldownMs: 10_000, logger });
 * const reply = await pool.generate({ prompt, signal, timeoutMs });
 * pool.endpoints(); // [{ url, slots, state: 'closed', inFlight, ... }]
 * pool.close();
 */
import { randomUUID } from 'node:crypto';
import { errorMessage, ProviderError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { OllamaEndpoint } from '../shared/ollama-pool-hosts';
import type { LlmCall, LlmProvider, LlmReply } from './llm-provider';

/** The fleet-wide slots the pool takes (implemented by `coordination/slot-leases.ts` `SlotLeases`). */
export interface SlotSemaphore {
  /** Takes a slot on the least busy pool; the index taken, or -1 when all are full. */
  acquire(pools: { id: string; slots: number }[], leaseId: string, leaseMs: number): Promise<number>;
  renew(id: string, leaseId: string, leaseMs: number): Promise<boolean>;
  release(id: string, leaseId: string): Promise<void>;
  /** Resolves on the next release in the fleet, after `ms`, or on `signal`. */
  waitForRelease(ms: number, signal?: AbortSignal): Promise<void>;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What the pool knows about one endpoint (for `/metrics` and logs). */
export interface EndpointStatus {
  url: string;
  /** The semaphore id (the URL; host-qualified when the URL is loopback). */
  id: string;
  slots: number;
  state: BreakerState;
  consecutiveFailures: number;
  /** Calls this process runs there now. */
  inFlight: number;
  /** Calls this process finished there (any outcome). */
  calls: number;
  lastError?: string;
}

/** Options of {@link createOllamaPool}. */
export interface OllamaPoolOptions {
  endpoints: OllamaEndpoint[];
  leases: SlotSemaphore;
  /** The provider of one endpoint (an Ollama provider at `url`). */
  provider: (url: string) => LlmProvider;
  /** Health probe of one endpoint: resolves when it answers and has the model, throws otherwise. */
  probe: (url: string) => Promise<void>;
  /** Lease expiry, ms (OLLAMA_SLOT_LEASE_MS). */
  leaseMs: number;
  /** Consecutive failures that open an endpoint's circuit (OLLAMA_BREAKER_FAILURES). */
  breakerFailures: number;
  /** Open time before a probe, and the health check period, ms (OLLAMA_BREAKER_COOLDOWN_MS). */
  breakerCooldownMs: number;
  /** Semaphore id of an endpoint. Default: the URL, prefixed with this host's name when the URL is loopback. */
  idOf?: (url: string) => string;
  logger?: Logger;
  /** Longest wait for a slot before asking again even without a release message, ms. Default 1000. */
  pollMs?: number;
  /** Run the periodic health checks. Default true. */
  healthChecks?: boolean;
}

/** The local model pool (an {@link LlmProvider}) with its endpoints' state. */
export interface OllamaPool extends LlmProvider {
  endpoints(): EndpointStatus[];
  /** Runs one round of health checks now (the timer does this every cooldown). */
  checkHealth(): Promise<void>;
  /** Stops the health checks. */
  close(): void;
}

/** Whether a failure says the endpoint (not the request) is in trouble. */
function countsAgainstEndpoint(err: unknown): boolean {
  if (!(err instanceof ProviderError) || err.code === 'aborted') return false;
  if (err.code === 'connection_error' || err.code === 'bad_response') return true;
  return err.status !== undefined && err.status >= 500 && err.code !== 'model_load_failed';
}

function aborted(signal: AbortSignal | undefined, model: string): ProviderError {
  const why = signal?.reason === undefined ? '' : `: ${errorMessage(signal.reason)}`;
  const err = new ProviderError('ollama', `Ollama call to model "${model}" was aborted while waiting for a pool slot${why}`, {
    code: 'aborted',
    retryable: false,
    cause: signal?.reason,
  });
  err.name = 'AbortError';
  return err;
}

interface Endpoint extends EndpointStatus {
  provider: LlmProvider;
  openedAt: number;
  probing: boolean;
}

/** Builds the pool; throws a TypeError when there is no endpoint. */
export function createOllamaPool(opts: OllamaPoolOptions): OllamaPool {
  if (opts.endpoints.length === 0) throw new TypeError('createOllamaPool: at least one endpoint is required');
  const { leases, leaseMs, logger } = opts;
  const pollMs = opts.pollMs ?? 1000;
  const idOf = opts.idOf ?? ((url: string) => url);
  const eps: Endpoint[] = opts.endpoints.map((e) => ({
    url: e.url,
    id: idOf(e.url),
    slots: e.slots,
    state: 'closed',
    consecutiveFailures: 0,
    inFlight: 0,
    calls: 0,
    provider: opts.provider(e.url),
    openedAt: 0,
    probing: false,
  }));

  function failed(ep: Endpoint, err: unknown, via: string): void {
    ep.consecutiveFailures++;
    ep.lastError = errorMessage(err);
    if (ep.state !== 'open' && (ep.consecutiveFailures >= opts.breakerFailures || ep.state === 'half_open')) {
      ep.state = 'open';
      ep.openedAt = Date.now();
      logger?.warn(
        { endpoint: ep.url, failures: ep.consecutiveFailures, via, err: ep.lastError },
        `Ollama endpoint ${ep.url} taken out of the pool after ${ep.consecutiveFailures} failures; probing it again in ${opts.breakerCooldownMs} ms`,
      );
    } else if (ep.state === 'open') {
      ep.openedAt = Date.now();
    }
  }

  function succeeded(ep: Endpoint): void {
    if (ep.state !== 'closed') logger?.info({ endpoint: ep.url }, `Ollama endpoint ${ep.url} is back in the pool`);
    ep.state = 'closed';
    ep.consecutiveFailures = 0;
    ep.lastError = undefined;
  }

  async function probe(ep: Endpoint): Promise<void> {
    if (ep.probing) return;
    if (ep.state === 'open' && Date.now() - ep.openedAt < opts.breakerCooldownMs) return;
    ep.probing = true;
    if (ep.state === 'open') ep.state = 'half_open';
    try {
      await opts.probe(ep.url);
      succeeded(ep);
    } catch (err) {
      failed(ep, err, 'health check');
    } finally {
      ep.probing = false;
    }
  }

  const checkHealth = async () => {
    await Promise.all(eps.map((ep) => probe(ep)));
  };
  let timer: NodeJS.Timeout | undefined;
  if (opts.healthChecks ?? true) {
    timer = setInterval(() => void checkHealth(), opts.breakerCooldownMs);
    timer.unref();
  }

  async function callOn(ep: Endpoint, leaseId: string, call: LlmCall, timeoutMs: number | undefined): Promise<LlmReply> {
    ep.inFlight++;
    const renew = setInterval(
      () => {
        leases.renew(ep.id, leaseId, leaseMs).then(
          (held) => {
            if (!held)
              logger?.warn(
                { endpoint: ep.url, leaseId },
                `the pool slot lease on ${ep.url} expired under a running call (Redis was unreachable longer than OLLAMA_SLOT_LEASE_MS?)`,
              );
          },
          (err) => logger?.warn({ endpoint: ep.url, err: errorMessage(err) }, 'could not renew a pool slot lease'),
        );
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    try {
      return await ep.provider.generate({ ...call, timeoutMs });
    } finally {
      clearInterval(renew);
      ep.inFlight--;
      ep.calls++;
      // Released on every path; a failed release is left to the lease's expiry.
      await leases
        .release(ep.id, leaseId)
        .catch((err) =>
          logger?.warn({ endpoint: ep.url, err: errorMessage(err) }, 'could not release a pool slot; it comes back when its lease expires'),
        );
    }
  }

  return {
    async generate(call: LlmCall): Promise<LlmReply> {
      const started = Date.now();
      const model = call.model ?? '(default)';
      const skip = new Set<Endpoint>();
      let lastErr: unknown;
      for (;;) {
        if (call.signal?.aborted) throw aborted(call.signal, model);
        const left = call.timeoutMs === undefined ? undefined : call.timeoutMs - (Date.now() - started);
        if (left !== undefined && left <= 0) {
          throw new ProviderError(
            'ollama',
            `no Ollama pool slot for model "${model}" within the call's ${call.timeoutMs} ms timeout (every slot of OLLAMA_HOSTS stayed busy); add hosts or slots, or raise OLLAMA_TIMEOUT_MS`,
            {
              code: 'timeout',
              retryable: true,
            },
          );
        }
        const open = eps.filter((ep) => ep.state !== 'closed' && !ep.probing);
        for (const ep of open) void probe(ep);
        let candidates = eps.filter((ep) => ep.state === 'closed' && !skip.has(ep));
        // The breaker steers calls away from a failing endpoint while another is healthy; it never
        // refuses every call for a whole cooldown (a pool of one would then fail conversations that
        // a retry would carry through a passing fault): with no healthy endpoint, the call goes to
        // the failing ones it has not tried, and its own error decides.
        if (candidates.length === 0) candidates = eps.filter((ep) => !skip.has(ep));
        if (candidates.length === 0) {
          if (lastErr) throw lastErr;
          throw new ProviderError(
            'ollama',
            `every Ollama endpoint of the pool is failing (${eps.map((e) => `${e.url}: ${e.lastError ?? e.state}`).join('; ')}); check \`ollama serve\` on those hosts`,
            {
              code: 'connection_error',
              retryable: true,
            },
          );
        }
        const leaseId = randomUUID();
        const at = await leases.acquire(
          candidates.map((c) => ({ id: c.id, slots: c.slots })),
          leaseId,
          leaseMs,
        );
        if (at < 0) {
          await leases.waitForRelease(Math.min(pollMs, left ?? pollMs), call.signal);
          continue;
        }
        const ep = candidates[at]!;
        try {
          const reply = await callOn(ep, leaseId, call, left);
          succeeded(ep);
          return reply;
        } catch (err) {
          if (!countsAgainstEndpoint(err)) throw err;
          failed(ep, err, 'call');
          // Refused at connect: nothing ran there, so another endpoint may take the call now.
          if ((err as ProviderError).code !== 'connection_error') throw err;
          skip.add(ep);
          lastErr = err;
          logger?.warn(
            { endpoint: ep.url, err: errorMessage(err) },
            `Ollama endpoint ${ep.url} unreachable; trying another endpoint of the pool`,
          );
        }
      }
    },
    endpoints: () => eps.map(({ provider: _p, openedAt: _o, probing: _b, ...status }) => ({ ...status })),
    checkHealth,
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
