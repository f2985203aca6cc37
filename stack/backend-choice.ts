/**
 * Which backends `npm start` and the demo run, and why (the banner says it): the explicit `CLOUD`
 * and `LOCAL` settings decide, endpoints named in the configuration are used, and AWS credentials
 * alone never turn the stack into real, billed Bedrock calls.
 *
 * | cloud side             | runs                                                                       |
 * |------------------------|----------------------------------------------------------------------------|
 * | `CLOUD=emulated`       | the Bedrock emulator behind the in-process gateway, whatever else is set    |
 * | `CLOUD` unset          | API_GATEWAY_URL, else BEDROCK_ENDPOINT / AWS_ENDPOINT_URL(_BEDROCK_RUNTIME) behind the in-process gateway, else the emulator (credentials ignored) |
 * | `CLOUD=gateway`        | API_GATEWAY_URL, else the in-process gateway to the endpoint or real Bedrock in AWS_REGION (the SDK's credential chain) |
 * | `CLOUD=bedrock`        | the workers call the endpoint or real Bedrock in AWS_REGION directly       |
 *
 * The local side: `LOCAL=emulated` the Ollama emulator; `ollama` OLLAMA_HOST or else the emulator;
 * `openai` OPENAI_BASE_URL or else the OpenAI-compatible emulator.
 */
import type { Config, Env } from '../shared/config';

export interface CloudChoice {
  /** Start the Bedrock emulator (and point the gateway or the workers at it). */
  emulate: boolean;
  /** Whether the calls go to AWS itself (billed). */
  billed: boolean;
  /** One line for the banner: the setting that decided it. */
  reason: string;
}

/** Whether CLOUD was given (in the environment or as an override), not just its default. */
export function cloudChosen(env: Env, overrides?: Partial<Config>): boolean {
  return overrides?.cloudBackend !== undefined || (env.CLOUD ?? '').trim() !== '';
}

/** The environment's credential settings that are set, for the banner (names only). */
function credentialNames(env: Env): string[] {
  return [
    'AWS_ACCESS_KEY_ID',
    'AWS_PROFILE',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  ].filter((k) => (env[k] ?? '') !== '');
}

export function chooseCloud(config: Config, env: Env, overrides?: Partial<Config>): CloudChoice {
  const endpoint = config.bedrockEndpoint
    ? 'BEDROCK_ENDPOINT'
    : config.awsEndpointUrlConfigured
      ? (env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? '') !== ''
        ? 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME'
        : 'AWS_ENDPOINT_URL'
      : undefined;
  const real = `real Bedrock in ${config.awsRegion} (the AWS SDK's default credential chain): billed calls`;
  if (config.cloudBackend === 'emulated')
    return { emulate: true, billed: false, reason: 'CLOUD=emulated: the Bedrock emulator behind the in-process gateway' };
  if (!cloudChosen(env, overrides)) {
    if (config.apiGatewayUrl)
      return { emulate: false, billed: false, reason: 'API_GATEWAY_URL is set (CLOUD unset: gateway): that API Gateway' };
    if (endpoint) return { emulate: false, billed: false, reason: `${endpoint} is set (CLOUD unset): the in-process gateway calls it` };
    const creds = credentialNames(env);
    return {
      emulate: true,
      billed: false,
      reason:
        `CLOUD unset: the Bedrock emulator` +
        (creds.length ? ` (${creds.join(', ')} ${creds.length > 1 ? 'are' : 'is'} set but not used)` : '') +
        '; CLOUD=gateway or CLOUD=bedrock calls real, billed Bedrock',
    };
  }
  if (config.cloudBackend === 'bedrock')
    return endpoint
      ? { emulate: false, billed: false, reason: `CLOUD=bedrock: the workers call ${endpoint}` }
      : { emulate: false, billed: true, reason: `CLOUD=bedrock: the workers call ${real}` };
  if (config.apiGatewayUrl) return { emulate: false, billed: false, reason: 'CLOUD=gateway: API_GATEWAY_URL' };
  return endpoint
    ? { emulate: false, billed: false, reason: `CLOUD=gateway, API_GATEWAY_URL unset: the in-process gateway calls ${endpoint}` }
    : { emulate: false, billed: true, reason: `CLOUD=gateway, API_GATEWAY_URL unset: the in-process gateway calls ${real}` };
}

/** The banner's line for the local side (the stack starts its emulator when this says so). */
export function localReason(config: Config): string {
  if (config.localBackend === 'emulated') return 'LOCAL=emulated: the Ollama emulator';
  if (config.localBackend === 'openai')
    return config.openaiBaseUrl ? 'LOCAL=openai: OPENAI_BASE_URL' : 'LOCAL=openai, OPENAI_BASE_URL unset: the OpenAI-compatible emulator';
  return config.ollamaHost
    ? `OLLAMA_HOST is set (LOCAL=${config.localBackend}): that Ollama`
    : 'OLLAMA_HOST unset: the Ollama emulator (set OLLAMA_HOST for a real Ollama)';
}
