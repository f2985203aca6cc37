/**
 * SigV4 signing of the cloud client's HTTP requests, for API Gateway APIs protected by IAM
 * (`AuthorizationType: AWS_IAM`, service `execute-api`). Signs method, host, path, query, the
 * given headers and the body (its SHA-256 is part of the signature, so a changed body is refused).
 *
 * @example
 * const signer = createSigV4Signer({ region: 'us-east-1' }); // credentials: default AWS chain
 * const headers = await signer.sign({ method: 'POST', url: new URL(apiUrl), headers: { 'content-type': 'application/x-protobuf' }, body });
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Options of {@link createSigV4Signer}. */
export interface SigV4SignerOptions {
  /** Region of the API (AWS_REGION). Required. */
  region: string;
  /** Credentials; default: the AWS default chain (`@aws-sdk/credential-provider-node`), resolved on first use. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Signing service; default `execute-api`. */
  service?: string;
}

/** A request to sign. Header names are sent exactly as returned by {@link SigV4Signer.sign}. */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface SigV4Signer {
  /** The headers to send: the given ones plus `host`, `x-amz-date`, `x-amz-content-sha256`, `authorization` (and the session token). */
  sign(req: SignableRequest, signingDate?: Date): Promise<Record<string, string>>;
}

function lazyDefaultChain(): AwsCredentialIdentityProvider {
  let provider: AwsCredentialIdentityProvider | undefined;
  return async () => {
    if (!provider) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      provider = defaultProvider();
    }
    return provider();
  };
}

/**
 * Builds a signer. The default credential chain is loaded only when first needed, so processes
 * that never sign do not pay for it.
 */
export function createSigV4Signer(opts: SigV4SignerOptions): SigV4Signer {
  if (!opts.region) throw new TypeError('createSigV4Signer: region is required');
  const signer = new SignatureV4({
    service: opts.service ?? 'execute-api',
    region: opts.region,
    credentials: opts.credentials ?? lazyDefaultChain(),
    sha256: Sha256,
  });
  return {
    async sign(req: SignableRequest, signingDate?: Date): Promise<Record<string, string>> {
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of req.url.searchParams) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const signed = await signer.sign(
        {
          method: req.method.toUpperCase(),
          protocol: req.url.protocol,
          hostname: req.url.hostname,
          port: req.url.port ? Number(req.url.port) : undefined,
          path: req.url.pathname,
          query,
          headers: { ...req.headers, host: req.url.host },
          body: req.body,
        },
        signingDate ? { signingDate } : {},
      );
      return signed.headers as Record<string, string>;
    },
  };
}
