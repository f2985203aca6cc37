/**
 * The local model pool's state on a worker's `/metrics`, read on every scrape:
 *  - `llmconv_ollama_endpoint_up{endpoint}`: 1 while the endpoint's circuit is closed, 0 open or half-open;
 *  - `llmconv_ollama_endpoint_state{endpoint,state}`: 1 for the current breaker state;
 *  - `llmconv_ollama_endpoint_slots{endpoint}`: the endpoint's slots (fleet-wide);
 *  - `llmconv_ollama_endpoint_in_flight{endpoint}`: calls this process runs there now;
 *  - `llmconv_ollama_endpoint_failures{endpoint}`: its consecutive failures.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BreakerState, OllamaPool } from '../providers/ollama-pool';

const STATES: BreakerState[] = ['closed', 'open', 'half_open'];

/** Registers the pool gauges on `registry` (the worker's metrics registry). */
export function registerPoolMetrics(registry: Registry, pool: Pick<OllamaPool, 'endpoints'>, prefix = 'llmconv_'): void {
  const gauge = (name: string, help: string, read: (g: Gauge<string>) => void, labelNames = ['endpoint']) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read(this);
      },
    });
  gauge('ollama_endpoint_up', 'Whether the Ollama endpoint is in the pool (circuit closed).', (g) => {
    for (const e of pool.endpoints()) g.set({ endpoint: e.url }, e.state === 'closed' ? 1 : 0);
  });
  gauge(
    'ollama_endpoint_state',
    'Circuit breaker state of the Ollama endpoint (1 for the current state).',
    (g) => {
      for (const e of pool.endpoints()) for (const s of STATES) g.set({ endpoint: e.url, state: s }, e.state === s ? 1 : 0);
    },
    ['endpoint', 'state'],
  );
  gauge('ollama_endpoint_slots', 'Slots of the Ollama endpoint (shared by the whole fleet).', (g) => {
    for (const e of pool.endpoints()) g.set({ endpoint: e.url }, e.slots);
  });
  gauge('ollama_endpoint_in_flight', 'Calls this process runs on the Ollama endpoint now.', (g) => {
    for (const e of pool.endpoints()) g.set({ endpoint: e.url }, e.inFlight);
  });
  gauge('ollama_endpoint_failures', 'Consecutive failures of the Ollama endpoint seen by this process.', (g) => {
    for (const e of pool.endpoints()) g.set({ endpoint: e.url }, e.consecutiveFailures);
  });
}
