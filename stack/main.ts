/**
 * `npm start`: the whole stack on one host. Prints its URLs and which backends are real or
 * emulated; stops cleanly on SIGINT/SIGTERM within SHUTDOWN_BOUND_MS, whether Redis is up or not.
 * The embedded Redis (no REDIS_URL) keeps its data in REDIS_DATA_DIR (default the user's state
 * dir), so a restart resumes unfinished conversations; it is supervised and restarted if it dies.
 */
import { ConfigError } from '../shared/errors';
import { stopOnSignals } from '../assembly/shutdown';
import { startTracing } from '../shared/tracing';
import { startLocalStack } from './local-stack';
import { describeStack } from './describe-stack';
import { oldNodeNotice, replaceSdkNodeWarning } from './node-support';
import { SHUTDOWN_BOUND_MS, SHUTDOWN_GRACE_MS } from './shutdown-bounds';

async function main() {
  let stop: ((reason: string, exitCode?: number) => Promise<void>) | undefined;
  // Before the first AWS SDK client: on Node 20 one line of ours instead of the SDK's nine.
  replaceSdkNodeWarning();
  // OTLP traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (shared/tracing.ts); before anything builds queues.
  const tracing = startTracing({ serviceName: 'llmconv', env: process.env });
  const stack = await startLocalStack({
    embeddedData: 'persistent',
    // A typo'd model id fails as on Bedrock, before real money is involved.
    unknownModels: 'refuse',
    closeGraceMs: SHUTDOWN_GRACE_MS,
    onRedisGaveUp: (err, tail) => {
      process.stderr.write(`\nembedded redis-server keeps dying (${err.message}); its last log lines:\n${tail}\n\n`);
      void stop?.('redis-gave-up', 1);
    },
  });
  process.stdout.write(describeStack(stack));
  const notice = oldNodeNotice();
  if (notice) process.stdout.write(`  note: ${notice}\n\n`);
  // The stack, then the traces it made (flushed last).
  stop = stopOnSignals(
    stack.logger,
    {
      close: async () => {
        await stack.close();
        await tracing.shutdown();
      },
    },
    SHUTDOWN_BOUND_MS,
  );
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'failed to start'}: ${(err as Error).message}\n`);
  process.exit(1);
});
