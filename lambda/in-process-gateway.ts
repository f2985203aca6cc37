/**
 * The real Lambda handler in-process behind the local API Gateway host: the one place the pipeline
 * pairs them. `npm start` uses it when API_GATEWAY_URL is unset, and so do the role entry points
 * (`npm run producer`, `npm run worker` with the cloud role), as the README's configuration table
 * documents; the library functions (`startWorkers`, `startProducer`) never do: they need a URL.
 *
 * @example
 * const gateway = await startInProcessGateway({ config, logger });
 * const workers = await startWorkers({ config: { ...config, apiGatewayUrl: gateway.url }, logger });
 */
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { startLocalGateway, type LocalGateway } from './local-gateway';
import { createHandler } from './handler';

export interface InProcessGatewayOptions {
  /** The handler's config (Bedrock endpoint, region, model defaults). */
  config: Config;
  logger: Logger;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
}

/** Starts the local gateway with the real handler on a free loopback port. */
export async function startInProcessGateway(opts: InProcessGatewayOptions): Promise<LocalGateway> {
  // The integration timeout is the deployment's one setting (GATEWAY_TIMEOUT_MS), as in the SAM template.
  return startLocalGateway({
    handler: createHandler({ config: opts.config, logger: opts.logger }),
    host: opts.host,
    integrationTimeoutMs: opts.config.gatewayTimeoutMs,
  });
}
