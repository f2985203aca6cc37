/**
 * The Lambda's own config: only the keys the handler reads (log level, region, Bedrock model and
 * endpoint, default max tokens, the gateway timeout its Bedrock budget follows, MODEL_CATALOG_FILE), so a key meant for another process (a bad `WORKER_ROLES`, say)
 * never breaks the function. Same keys, defaults and errors as `loadConfig()`.
 *
 * @example
 * const config = loadLambdaConfig(); // throws ConfigError naming the first bad key
 */
import { LOG_LEVELS, modelCatalogFile, reader, type Config, type Env } from '../shared/config';

/** What the handler reads; a full `Config` fits it too. */
export type LambdaConfig = Pick<
  Config,
  'logLevel' | 'awsRegion' | 'bedrockModelId' | 'bedrockEndpoint' | 'defaultMaxTokens' | 'gatewayTimeoutMs' | 'modelCatalogFile'
>;

/** Reads and validates the Lambda's keys from `env`. */
export function loadLambdaConfig(env: Env = process.env): LambdaConfig {
  const r = reader(env);
  return {
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS),
    awsRegion: r.str('AWS_REGION'),
    bedrockModelId: r.str('BEDROCK_MODEL_ID'),
    bedrockEndpoint: r.url('BEDROCK_ENDPOINT', ['http:', 'https:']),
    defaultMaxTokens: r.int('DEFAULT_MAX_TOKENS', 1, 200000),
    gatewayTimeoutMs: r.int('GATEWAY_TIMEOUT_MS', 50, 900_000),
    // Caps, default maxTokens and accepted parameters come from the catalogue (shared/model-catalog.json, bundled).
    modelCatalogFile: modelCatalogFile(r.opt('MODEL_CATALOG_FILE')),
  };
}
