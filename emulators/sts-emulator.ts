/**
 * AWS STS `GetCallerIdentity` the way STS answers it, for `llmconv doctor` and its tests: the
 * Query protocol (form POST `Action=GetCallerIdentity&Version=2011-06-15`, what
 * `@aws-sdk/client-sts` sends with its `AwsQueryProtocol`), an XML answer, and XML errors.
 *
 * Sources (read 2026-12-02):
 * - the STS API reference, GetCallerIdentity (response elements Account, Arn, UserId);
 * - a real 403 captured in aws-azure-login/aws-azure-login#251 (2022-11-02): `Content-Type:
 *   text/xml`, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
 *   <Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid</Message>
 *   </Error><RequestId>…</RequestId></ErrorResponse>`;
 * - an unsigned request: `MissingAuthenticationToken` "Request is missing Authentication Token"
 *   (403), the common Query-API error of the AWS docs ("Common Errors"); the exact STS wording is
 *   not certain.
 *
 * Which keys are valid: with `identities`, only those access key ids (anything else is
 * InvalidClientTokenId); without, any key gets an emulated IAM user of account
 * {@link EMULATED_ACCOUNT}. An identity given with its `secretAccessKey` has its SigV4 signature
 * checked (recomputed with @smithy/signature-v4 over the signed headers): a wrong secret answers 403
 * `SignatureDoesNotMatch` with AWS's message; otherwise signatures are not verified.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { credentialScope, EMULATED_ACCOUNT } from './aws-request';
import type { EmulatorRequest } from './emulator-server';

/** Who a key belongs to, as GetCallerIdentity reports it. */
export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
  /** When given, the request's signature is checked with it. */
  secretAccessKey?: string;
}

/** AWS's message for a signature made with another secret (the common SigV4 error). */
export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Recomputes the request's SigV4 signature with `secret` over the headers it says it signed. */
async function signatureMatches(req: EmulatorRequest, secret: string): Promise<boolean> {
  const auth = String(req.headers.authorization ?? '');
  const scope = credentialScope(req.headers)!;
  const signedHeaders = /SignedHeaders=([^,\s]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const given = /Signature=([0-9a-f]+)/.exec(auth)?.[1];
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!given || !m) return false;
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) {
    const v = req.headers[h];
    if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  const [hostname, port] = (headers.host ?? '').split(':');
  const signer = new SignatureV4({
    service: scope.service,
    region: scope.region,
    sha256: Sha256,
    credentials: { accessKeyId: scope.accessKeyId, secretAccessKey: secret, sessionToken: headers['x-amz-security-token'] },
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: hostname ?? '',
      port: port ? Number(port) : undefined,
      path: req.path,
      query: {},
      headers,
      body: req.body,
    },
    { signingDate: new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) },
  );
  return /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1] === given;
}

export interface StsEmulatorOptions {
  /** Valid access key ids and who they are. Default: every key is valid (an emulated user). */
  identities?: Record<string, CallerIdentity>;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const xmlEscape = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
  res.end(xml);
}

/** An STS error in the Query protocol's XML shape. */
export function sendStsError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  type: 'Sender' | 'Receiver' = 'Sender',
): void {
  const requestId = randomUUID();
  sendXml(
    res,
    status,
    `<ErrorResponse xmlns="${NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
    requestId,
  );
}

/** True for a request STS would get: a form POST to `/` naming an `Action`. */
export function isStsRequest(req: EmulatorRequest): boolean {
  const type = String(req.headers['content-type'] ?? '');
  return (
    req.method === 'POST' &&
    req.path === '/' &&
    type.startsWith('application/x-www-form-urlencoded') &&
    /(^|&)Action=/.test(req.body.toString('utf8'))
  );
}

/** Answers one STS request (see {@link isStsRequest}). */
export async function serveSts(req: EmulatorRequest, res: ServerResponse, opts: StsEmulatorOptions = {}): Promise<void> {
  const form = new URLSearchParams(req.body.toString('utf8'));
  const action = form.get('Action');
  if (action !== 'GetCallerIdentity') {
    sendStsError(res, 400, 'InvalidAction', `Could not find operation ${action ?? ''} for version ${form.get('Version') ?? ''}`);
    return;
  }
  const scope = credentialScope(req.headers);
  if (!scope) {
    sendStsError(res, 403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    return;
  }
  const identity = opts.identities
    ? opts.identities[scope.accessKeyId]
    : {
        account: EMULATED_ACCOUNT,
        arn: `arn:aws:iam::${EMULATED_ACCOUNT}:user/emulated`,
        userId: `AIDAEMULATED${scope.accessKeyId.slice(-8).toUpperCase()}`,
      };
  if (!identity) {
    sendStsError(res, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid');
    return;
  }
  if (identity.secretAccessKey !== undefined && !(await signatureMatches(req, identity.secretAccessKey))) {
    sendStsError(res, 403, 'SignatureDoesNotMatch', SIGNATURE_MISMATCH_MESSAGE);
    return;
  }
  const requestId = randomUUID();
  sendXml(
    res,
    200,
    `<GetCallerIdentityResponse xmlns="${NS}">\n  <GetCallerIdentityResult>\n    <Arn>${xmlEscape(identity.arn)}</Arn>\n    <UserId>${xmlEscape(identity.userId)}</UserId>\n    <Account>${xmlEscape(identity.account)}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n`,
    requestId,
  );
}
