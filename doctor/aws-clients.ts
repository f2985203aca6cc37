/**
 * The doctor's AWS clients (STS, the Bedrock control plane), built so the SDK's own endpoint
 * settings win: no `endpoint` is passed unless nothing else names one, so `AWS_ENDPOINT_URL_STS`,
 * `AWS_ENDPOINT_URL_BEDROCK` and `AWS_ENDPOINT_URL` (and `endpoint_url` in ~/.aws/config) are read
 * by the SDK itself. In `@smithy/core` 3.41 (`endpoints/middleware-endpoint/adaptors/
 * getEndpointUrlConfig.js` and `getEndpointFromInstructions.js`, read 2026-12-02) a client built
 * without `endpoint` (`isCustomEndpoint` false) reads `AWS_ENDPOINT_URL_<SERVICE ID>` (the service
 * id upper-cased, spaces as `_`: `STS`, `BEDROCK`, `BEDROCK_RUNTIME`), then `AWS_ENDPOINT_URL`,
 * unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`; an explicit `endpoint` beats them all.
 *
 * The one exception: BEDROCK_ENDPOINT (our Bedrock *Runtime* override) on loopback is the
 * project's emulator, which also answers the control plane and STS; it is used for them only
 * when no AWS endpoint setting is present. Loopback endpoints get placeholder credentials when
 * none are configured, as the Lambda's client does.
 */
import { BedrockClient } from '@aws-sdk/client-bedrock';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config, Env } from '../shared/config';
import { isLoopbackUrl } from '../providers/ollama-probe';

/** The SDK service ids whose endpoint settings the doctor reports. */
export type AwsService = 'STS' | 'Bedrock' | 'Bedrock Runtime';

export interface AwsTarget {
  /** Passed to the client only for the BEDROCK_ENDPOINT-emulator case; otherwise the SDK resolves it. */
  endpoint?: string;
  /** Where calls go, for the report (`AWS us-east-1`, `http://127.0.0.1:4010 (AWS_ENDPOINT_URL_STS)`). */
  where: string;
  /** On loopback: the project's emulator. */
  emulated: boolean;
}

const EMULATOR_CREDENTIALS = { accessKeyId: 'EMULATORKEY', secretAccessKey: 'emulator-secret' };

/** The SDK's endpoint setting for `service`, if any (the name of the variable and its value), for reporting and decisions only. */
export function sdkEndpointSetting(service: AwsService, env: Env): { key: string; url: string } | undefined {
  if (/^(1|true)$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim() ?? '')) return undefined;
  for (const key of [`AWS_ENDPOINT_URL_${service.toUpperCase().replace(/ /g, '_')}`, 'AWS_ENDPOINT_URL']) {
    const url = env[key]?.trim();
    if (url) return { key, url };
  }
  return undefined;
}

/** Where `service`'s calls go under this config and environment. */
export function awsTarget(service: AwsService, config: Config, env: Env): AwsTarget {
  const setting = sdkEndpointSetting(service, env);
  if (setting) return { where: `${setting.url} (${setting.key})`, emulated: isLoopbackUrl(setting.url) };
  if (config.bedrockEndpoint && isLoopbackUrl(config.bedrockEndpoint)) {
    return { endpoint: config.bedrockEndpoint, where: `${config.bedrockEndpoint} (BEDROCK_ENDPOINT, the emulator)`, emulated: true };
  }
  if (service === 'Bedrock Runtime' && config.bedrockEndpoint)
    return { where: `${config.bedrockEndpoint} (BEDROCK_ENDPOINT)`, emulated: false };
  return { where: `AWS ${config.awsRegion}`, emulated: false };
}

/** True when anything points the cloud side at AWS or an emulator the user started; false: `npm start` runs its own emulator. */
export function cloudConfigured(config: Config, env: Env): boolean {
  return Boolean(
    config.apiGatewayUrl ||
      config.bedrockEndpoint ||
      config.awsCredentialsConfigured ||
      sdkEndpointSetting('STS', env) ||
      sdkEndpointSetting('Bedrock', env) ||
      sdkEndpointSetting('Bedrock Runtime', env),
  );
}

function clientConfig(target: AwsTarget, config: Config, timeoutMs: number) {
  return {
    region: config.awsRegion,
    maxAttempts: 1,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.emulated && !config.awsCredentialsConfigured ? { credentials: EMULATOR_CREDENTIALS } : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(timeoutMs, 5000),
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
    }),
  };
}

export function createStsClient(config: Config, env: Env, timeoutMs: number): { client: STSClient; target: AwsTarget } {
  const target = awsTarget('STS', config, env);
  return { client: new STSClient(clientConfig(target, config, timeoutMs)), target };
}

export function createBedrockControlClient(config: Config, env: Env, timeoutMs: number): { client: BedrockClient; target: AwsTarget } {
  const target = awsTarget('Bedrock', config, env);
  return { client: new BedrockClient(clientConfig(target, config, timeoutMs)), target };
}
