/**
 * The Lambda's own config: only the keys the handler reads (the schema's `lambda` part: log level,
 * region, Bedrock model and endpoint, default max tokens, the gateway timeout its Bedrock budget
 * follows, MODEL_CATALOG_FILE), so a key meant for another process (a bad `WORKER_ROLES`, say)
 * never breaks the function, and no other key's file is read. Same keys, defaults and errors as
 * `loadConfig()`.
 *
 * @example
 * const config = loadLambdaConfig(); // throws ConfigError naming the first bad key
 */
import { loadConfigFields, type Config, type Env } from '../shared/config';

/** The fields the handler reads, the schema's `readBy: 'lambda'` (a unit test keeps them equal). */
export const LAMBDA_FIELDS = [
  'logLevel',
  'awsRegion',
  'bedrockModelId',
  'bedrockEndpoint',
  'defaultMaxTokens',
  'gatewayTimeoutMs',
  'modelCatalogFile',
  'otlpTracesUrl',
  'captureMessageContent',
  'awsLambdaFunctionName',
] as const satisfies readonly (keyof Config)[];

/** What the handler reads; a full `Config` fits it too. */
/** The tracing settings are optional here: the handler's tests and callers that build a config by hand need not name them. */
type TracingFields = 'otlpTracesUrl' | 'captureMessageContent' | 'awsLambdaFunctionName';
export type LambdaConfig = Pick<Config, Exclude<(typeof LAMBDA_FIELDS)[number], TracingFields>> & Partial<Pick<Config, TracingFields>>;

/** Reads and validates the Lambda's keys from `env`. */
export function loadLambdaConfig(env: Env = process.env): LambdaConfig {
  return loadConfigFields(env, LAMBDA_FIELDS);
}
