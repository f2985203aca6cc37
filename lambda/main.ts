/**
 * `npm run gateway`: the local API Gateway host. Runs the real Lambda handler in-process behind
 * {@link startLocalGateway} on GATEWAY_PORT/HOST, calling Bedrock at BEDROCK_ENDPOINT (or AWS),
 * and stops cleanly on SIGINT/SIGTERM (bounded by a timeout).
 *
 * @example
 * BEDROCK_ENDPOINT=http://127.0.0.1:4010 npm run gateway   # against `npm run emulators`
 */
import { loadConfig } from '../shared/config';
import type { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { onShutdown } from '../shared/shutdown';
import { startTracing } from '../shared/tracing';
import { createHandler } from './handler';
import { startLocalGateway } from './local-gateway';
import { checkPortFree } from '../shared/startup-checks';

async function main(): Promise<void> {
  // The local gateway's keys only (the Lambda's and its own: GATEWAY_PORT, HOST, API_GATEWAY_API_KEY ...).
  const ignored: ConfigError[] = [];
  const config = loadConfig(process.env, { for: 'gateway', ignored: (err) => ignored.push(err) });
  // OTLP traces when OTEL_EXPORTER_OTLP_ENDPOINT is set (shared/tracing.ts); before anything builds queues.
  const tracing = startTracing({ serviceName: 'llmconv-gateway', env: process.env });
  const logger = createLogger({ level: config.logLevel, name: 'gateway' });
  for (const err of ignored) logger.warn({ key: err.key }, `${err.message} (not read by the gateway: ignored)`);
  await checkPortFree({ setting: 'GATEWAY_PORT', host: config.host, port: config.gatewayPort });
  const handler = createHandler({ config, logger });
  const gateway = await startLocalGateway({
    handler,
    port: config.gatewayPort,
    host: config.host,
    apiKey: config.apiGatewayApiKey,
    integrationTimeoutMs: config.gatewayTimeoutMs,
    allowUnauthenticated: config.allowUnauthenticated,
  });
  const bedrock = config.bedrockEndpoint ?? `AWS Bedrock Runtime in ${config.awsRegion} (real service: needs AWS credentials)`;
  process.stdout.write(
    [
      `Local API Gateway: ${gateway.url}   (API_GATEWAY_URL=${gateway.url})`,
      `Lambda handler in-process, Bedrock: ${bedrock}, default model ${config.bedrockModelId}`,
      config.apiGatewayApiKey ? 'x-api-key required (API_GATEWAY_API_KEY)' : 'no API key required',
      'Ctrl-C stops.',
      '',
    ].join('\n'),
  );

  // Bounded like every process: open connections are closed, a second signal after the grace (shared/shutdown.ts) exits at once.
  onShutdown(
    logger,
    [
      { name: 'gateway', run: () => gateway.close() },
      { name: 'traces', run: () => tracing.shutdown() },
    ],
    10_000,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`local gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
