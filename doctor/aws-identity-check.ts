/**
 * `aws.identity`: the AWS credentials resolve, and to whom (STS GetCallerIdentity, which needs no
 * permission: docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html, read 2026-12-02).
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { cloudConfigured, createStsClient } from './aws-clients';
import { type Check, describeError, fail, ok, skip, within } from './check-result';

const NAME = 'aws.identity';

export const awsIdentityCheck: Check = async (ctx) => {
  const { config, env } = ctx;
  if (!cloudConfigured(config, env)) {
    return [skip(NAME, 'no AWS credentials, API_GATEWAY_URL or endpoint configured: `npm start` runs the Bedrock emulator in their place')];
  }
  const { client, target } = createStsClient(config, env, ctx.timeoutMs);
  try {
    const id = await within(client.send(new GetCallerIdentityCommand({})), ctx.timeoutMs, `STS at ${target.where}`);
    return [ok(NAME, `${id.Arn} (account ${id.Account}) via ${target.where}`)];
  } catch (err) {
    const e = err as { name?: string; message?: string };
    const found = `STS at ${target.where}: ${describeError(err)}`;
    if (
      e.name === 'CredentialsProviderError' ||
      (/Could not load credentials|credential/i.test(e.message ?? '') && !/token included/i.test(e.message ?? ''))
    ) {
      return [
        fail(
          NAME,
          found,
          'give the process AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/task role)',
          'AWS_PROFILE',
        ),
      ];
    }
    if (e.name === 'SignatureDoesNotMatch') {
      return [
        fail(
          NAME,
          found,
          'the access key exists but the secret does not match it: set the secret that belongs to the key',
          'AWS_SECRET_ACCESS_KEY',
        ),
      ];
    }
    if (e.name === 'InvalidClientTokenId' || e.name === 'ExpiredToken' || e.name === 'MissingAuthenticationToken') {
      return [
        fail(
          NAME,
          found,
          'the access key is unknown, expired or its secret is wrong: renew the credentials (for SSO: aws sso login)',
          'AWS_ACCESS_KEY_ID',
        ),
      ];
    }
    return [
      fail(
        NAME,
        found,
        'STS cannot be reached: check the network, AWS_REGION, or the endpoint setting',
        target.where.includes('AWS_ENDPOINT_URL') ? target.where.replace(/^.*\((.*)\)$/, '$1') : 'AWS_REGION',
      ),
    ];
  } finally {
    client.destroy();
  }
};
