/**
 * `api-gateway`: API_GATEWAY_URL answers, without calling Bedrock: one POST with an empty body
 * (signed when API_GATEWAY_SIGV4, with `x-api-key` when API_GATEWAY_API_KEY). API Gateway checks
 * the stage, path, method, key and signature before the integration; our Lambda then answers an
 * empty body with 400 `empty_body` (lambda/proxy-event.ts) and never reaches Bedrock.
 *
 * Reading the answer: a response API Gateway made itself carries `x-amzn-ErrorType` and a JSON
 * `message` (API Gateway developer guide, "Gateway response types", read 2026-12-02):
 * `MissingAuthenticationTokenException` 403 "Missing Authentication Token" for a stage, path or
 * method that does not exist (and for an unsigned call to an IAM-protected method); 403
 * `ForbiddenException` "Forbidden" for a missing or wrong API key; 403 with a signature or
 * authorisation message for IAM; 429 throttling/quota; 502/504 from the integration.
 */
import { createSigV4Signer } from '../providers/sigv4-signer';
import { type Check, type CheckResult, describeError, fail, ok, skip, warn, within } from './check-result';

const NAME = 'api-gateway';

/** What a deployed URL looks like (the SAM template's `ApiGatewayUrl` output). */
const URL_SHAPE = 'https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/generate (the stack output ApiGatewayUrl)';

export const apiGatewayCheck: Check = async (ctx) => {
  const { config } = ctx;
  const url = config.apiGatewayUrl;
  if (!url) return [skip(NAME, 'API_GATEWAY_URL unset: the local gateway runs the Lambda handler in-process')];
  const headers: Record<string, string> = { 'content-type': 'application/x-protobuf', accept: 'application/json' };
  if (config.apiGatewayApiKey) headers['x-api-key'] = config.apiGatewayApiKey;
  let signed = headers;
  if (config.apiGatewaySigv4) {
    try {
      signed = await createSigV4Signer({ region: config.awsRegion }).sign({ method: 'POST', url: new URL(url), headers, body: '' });
    } catch (err) {
      return [
        fail(
          NAME,
          `cannot sign the call (API_GATEWAY_SIGV4=true): ${describeError(err)}`,
          'give the process AWS credentials allowed execute-api:Invoke (see aws.identity)',
          'AWS_PROFILE',
        ),
      ];
    }
  }
  let res: Response;
  try {
    res = await within(
      fetch(url, { method: 'POST', headers: signed, body: '', redirect: 'manual', signal: AbortSignal.timeout(ctx.timeoutMs) }),
      ctx.timeoutMs + 100,
      url,
    );
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return [
      fail(
        NAME,
        `${url} does not answer: ${describeError(cause ?? err)}`,
        `check the host in API_GATEWAY_URL (${URL_SHAPE})`,
        'API_GATEWAY_URL',
      ),
    ];
  }
  const text = (await res.text().catch(() => '')).slice(0, 2000);
  let message = '';
  try {
    const body = JSON.parse(text) as { message?: unknown; Message?: unknown; error?: { code?: unknown } };
    message = String(body.message ?? body.Message ?? body.error?.code ?? '');
  } catch {
    // Not JSON: the Lambda's protobuf, or a proxy's page.
  }
  const type = (res.headers.get('x-amzn-errortype') ?? '').split(':')[0]!;
  const got = `${res.status}${type ? ` ${type}` : ''}${message ? ` "${message.slice(0, 160)}"` : ''}`;
  return [classify(url, res.status, type, message, got, config.apiGatewaySigv4)];
};

function classify(url: string, status: number, type: string, message: string, got: string, sigv4: boolean): CheckResult {
  const found = `POST ${url} (empty body) answered ${got}`;
  if (type === 'MissingAuthenticationTokenException' || (status === 403 && /missing authentication token/i.test(message))) {
    return fail(
      NAME,
      `${found}: no such stage, path or method`,
      `API_GATEWAY_URL must be ${URL_SHAPE}${sigv4 ? '' : '; an IAM-protected API answers the same to an unsigned call (API_GATEWAY_SIGV4=true)'}`,
      'API_GATEWAY_URL',
    );
  }
  if (type === 'ForbiddenException' || (status === 403 && /^forbidden$/i.test(message))) {
    return fail(
      NAME,
      `${found}: the API key is missing or wrong`,
      'set API_GATEWAY_API_KEY to the key of the usage plan (aws apigateway get-api-key --api-key <ApiKeyId> --include-value)',
      'API_GATEWAY_API_KEY',
    );
  }
  if (status === 403) {
    return fail(
      NAME,
      `${found}: the call is not authorised`,
      'with AuthMode IAM, sign (API_GATEWAY_SIGV4=true) with credentials allowed execute-api:Invoke (FleetInvokePolicy)',
      'API_GATEWAY_SIGV4',
    );
  }
  if (status === 404) return fail(NAME, `${found}: no such stage or path`, `API_GATEWAY_URL must be ${URL_SHAPE}`, 'API_GATEWAY_URL');
  if (status === 429) {
    return warn(
      NAME,
      `${found}: ${/limit exceeded/i.test(message) ? 'the usage plan quota is used up (clears at the quota period, not in minutes)' : 'throttled'}`,
      'raise the usage plan limits, or wait',
      'API_GATEWAY_API_KEY',
    );
  }
  if (status === 502 || status === 504 || (status >= 500 && type)) {
    return fail(
      NAME,
      `${found}: the integration (Lambda) failed`,
      "read the Lambda's CloudWatch log (a crash, a timeout, or a missing permission for API Gateway to invoke it)",
      'API_GATEWAY_URL',
    );
  }
  if (type) return fail(NAME, `${found}: API Gateway refused the call`, `check API_GATEWAY_URL (${URL_SHAPE})`, 'API_GATEWAY_URL');
  // The integration answered: our Lambda says 400 empty_body to an empty body.
  return ok(
    NAME,
    `${url} reaches the Lambda (${got}${message === 'empty_body' ? ', as expected for an empty body: Bedrock not called' : ''})`,
  );
}
