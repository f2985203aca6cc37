/**
 * Usage per API key in `/metrics` (docs/callers.md), read from Redis at scrape time
 * (store/caller-store.ts), so every producer reports the same totals whichever process did the
 * work. One series per entry of API_KEYS_FILE and nothing else: the label set is bounded by the file.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { CallerEntry } from './caller-keys';
import { CallerStore, type CallerUsage } from '../store/caller-store';
import type { ShardSet } from '../shared/redis-shards';

type Field = 'conversations' | 'runs' | 'calls' | 'tokens' | 'costUsd';

const COUNTERS: [Field, string, string][] = [
  ['conversations', 'caller_conversations_total', "Conversations created with the key (POST /conversation, and its runs' admissions)."],
  ['runs', 'caller_runs_total', 'Runs created with the key.'],
  ['calls', 'caller_calls_total', "Model calls of the key's conversations (settled, both sides)."],
  ['tokens', 'caller_tokens_total', "Tokens (input + output, both sides) of the key's conversations."],
  ['costUsd', 'caller_cost_usd_total', "What the key's conversations cost, USD, by the price table."],
];

/** Registers the per-key series on `registry`; a no-op without entries. */
export function registerCallerMetrics(
  registry: Registry,
  redis: Redis,
  queuePrefix: string | ShardSet,
  entries: readonly CallerEntry[],
  prefix = 'llmconv_',
): void {
  if (!entries.length) return;
  const store = new CallerStore(redis, queuePrefix);
  // One read per scrape, shared by every series.
  let pending: Promise<(CallerUsage | null)[]> | undefined;
  const read = () => {
    pending ??= Promise.all(entries.map((e) => store.usage(e.id).catch(() => null))).finally(() =>
      setTimeout(() => (pending = undefined), 0),
    );
    return pending;
  };
  for (const [field, name, help] of COUNTERS) {
    new Counter({
      name: `${prefix}${name}`,
      help: `${help} Per API key of API_KEYS_FILE.`,
      labelNames: ['key'],
      registers: [registry],
      async collect() {
        const usage = await read();
        this.reset();
        entries.forEach((e, i) => {
          const u = usage[i];
          if (u) this.inc({ key: e.id }, Math.max(0, u[field]));
        });
      },
    });
  }
  new Gauge({
    name: `${prefix}caller_active`,
    help: 'Conversations of the key in flight (bounded by its maxActive). Per API key of API_KEYS_FILE.',
    labelNames: ['key'],
    registers: [registry],
    async collect() {
      const usage = await read();
      this.reset();
      entries.forEach((e, i) => {
        const u = usage[i];
        if (u) this.set({ key: e.id }, u.active);
      });
    },
  });
}
