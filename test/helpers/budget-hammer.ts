/**
 * A process that hammers one budget (the overspend test, test/integration/store/budget-store.test.ts):
 * CONNECTIONS connections, each in a loop: reserve a random worst case against the conversation
 * and run budgets, wait a little (the "call"), settle a random real usage up to the worst case;
 * until REFUSALS refusals. Prints {"granted": n, "refused": n, "refusedBy": {scope name: n}} as JSON.
 */
import { Redis } from 'ioredis';
import { BudgetStore, type BudgetScope } from '../../store/budget-store';

async function main(): Promise<void> {
  const env = process.env;
  const scopes = JSON.parse(env.SCOPES!) as BudgetScope[];
  const connections = Number(env.CONNECTIONS ?? 8);
  const refusalsWanted = Number(env.REFUSALS ?? 20);
  let granted = 0;
  let refused = 0;
  const refusedBy: Record<string, number> = {};
  const loop = async (n: number) => {
    const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });
    const store = new BudgetStore(redis);
    let mine = 0;
    for (let i = 0; mine < refusalsWanted; i++) {
      const worst = { usdNano: 1000 + Math.floor(Math.random() * 50_000), tokens: 1 + Math.floor(Math.random() * 40) };
      const id = `${process.pid}-${n}-${i}`;
      const r = await store.reserve(scopes, id, worst, 60_000, 600);
      if (!r.ok) {
        mine++;
        refused++;
        refusedBy[r.scope] = (refusedBy[r.scope] ?? 0) + 1;
        await new Promise((res) => setTimeout(res, Math.random() * 3));
        continue;
      }
      granted++;
      await new Promise((res) => setTimeout(res, Math.random() * 4));
      // Most calls use all they reserved (the hardest case), some less.
      const full = Math.random() < 0.7;
      await store.settle(
        scopes,
        id,
        full
          ? { usdNano: worst.usdNano, tokens: worst.tokens }
          : { usdNano: Math.floor(worst.usdNano * Math.random()), tokens: Math.floor(worst.tokens * Math.random()) },
      );
    }
    redis.disconnect();
  };
  await Promise.all(Array.from({ length: connections }, (_, n) => loop(n)));
  process.stdout.write(`${JSON.stringify({ granted, refused, refusedBy })}\n`);
}

void main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${String(err?.stack ?? err)}\n`);
    process.exit(1);
  },
);
