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
 * {@link EMULATED_ACCOUNT}. Signatures are not verified.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { credentialScope, EMULATED_ACCOUNT } from './aws-request';
import type { EmulatorRequest } from './emulator-server';

/** Who a key belongs to, as GetCallerIdentity reports it. */
export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

export interface StsEmulatorOptions {
  /** Valid access key ids and who they are. Default: every key is valid (an emulated user). */
  identities?: Record<string, CallerIdentity>;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
  res.end(xml);
}

/** An STS error in the Query protocol's XML shape. */
export function sendStsError(res: ServerResponse, status: number, code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): void {
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
  return req.method === 'POST' && req.path === '/' && type.startsWith('application/x-www-form-urlencoded') && /(^|&)Action=/.test(req.body.toString('utf8'));
}

/** Answers one STS request (see {@link isStsRequest}). */
export function serveSts(req: EmulatorRequest, res: ServerResponse, opts: StsEmulatorOptions = {}): void {
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
    : { account: EMULATED_ACCOUNT, arn: `arn:aws:iam::${EMULATED_ACCOUNT}:user/emulated`, userId: `AIDAEMULATED${scope.accessKeyId.slice(-8).toUpperCase()}` };
  if (!identity) {
    sendStsError(res, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid');
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
