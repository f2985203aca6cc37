/**
 * What an emulator reads from a SigV4-signed AWS request: the access key id and the credential
 * scope (`AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request, ...`,
 * the Authorization header of AWS Signature Version 4, docs.aws.amazon.com/IAM/latest/UserGuide/
 * reference_sigv4-signed-request-examples.html, read 2026-12-02). The signature itself is not
 * checked: the emulators need no secrets.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

const SCOPE = /Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/;

/** The credential scope of a signed request, or undefined when it carries no SigV4 Authorization. */
export function credentialScope(headers: IncomingHttpHeaders): CredentialScope | undefined {
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? SCOPE.exec(auth) : undefined;
  return m ? { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! } : undefined;
}

/** The account id the emulators answer with (no real account: twelve zeros, as AWS documents for examples is 123456789012; zeros say "emulated"). */
export const EMULATED_ACCOUNT = '000000000000';
