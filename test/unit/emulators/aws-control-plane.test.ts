/**
 * The Bedrock emulator's URL answers the Bedrock control plane and STS the way the real services
 * do, through the unmodified `@aws-sdk/client-bedrock` and `@aws-sdk/client-sts` (paths, shapes
 * and errors from their 3.1163 schemas; STS error XML as captured in aws-azure-login#251; see
 * emulators/bedrock-control-emulator.ts and emulators/sts-emulator.ts, read 2026-12-02).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  BedrockClient,
  GetFoundationModelCommand,
  GetInferenceProfileCommand,
  ListInferenceProfilesCommand,
} from '@aws-sdk/client-bedrock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startBedrockEmulator, type BedrockEmulatorHandle } from '../../../emulators/bedrock-emulator';
import { loadModelCatalog } from '../../../shared/model-catalog';

const CATALOG = path.resolve(__dirname, '..', '..', 'fixtures', 'doctor-catalog.json');
const HAIKU3 = 'anthropic.claude-3-haiku-20240307-v1:0';
const credentials = { accessKeyId: 'AKIACONTROLTEST00001', secretAccessKey: 'x' };

async function rejection(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the call to fail');
}

describe('Bedrock control plane and STS on the emulator, with the real SDK clients', () => {
  let emu: BedrockEmulatorHandle;
  const bedrock = (region: string) => new BedrockClient({ region, endpoint: emu.url, credentials, maxAttempts: 1 });
  before(async () => {
    emu = await startBedrockEmulator({
      control: {
        catalog: loadModelCatalog(CATALOG),
        profileModels: ['amazon.nova-micro-v1:0'],
        identities: {
          [credentials.accessKeyId]: {
            account: '000000000000',
            arn: 'arn:aws:iam::000000000000:user/t',
            userId: 'AIDAT',
            secretAccessKey: credentials.secretAccessKey,
          },
        },
      },
    });
  });
  after(() => emu?.close());

  it('GetFoundationModel: lifecycle per region from the SigV4 scope (ACTIVE, LEGACY with dates, end of life → ResourceNotFoundException)', async () => {
    const ca = await bedrock('ca-central-1').send(new GetFoundationModelCommand({ modelIdentifier: HAIKU3 }));
    assert.equal(ca.modelDetails?.modelLifecycle?.status, 'ACTIVE');
    assert.deepEqual(ca.modelDetails?.inferenceTypesSupported, ['ON_DEMAND']);
    const seoul = await bedrock('ap-northeast-2').send(new GetFoundationModelCommand({ modelIdentifier: HAIKU3 }));
    assert.equal(seoul.modelDetails?.modelLifecycle?.status, 'LEGACY');
    assert.ok(seoul.modelDetails?.modelLifecycle?.endOfLifeTime instanceof Date, 'timestamps parse as the SDK expects (ISO 8601)');
    assert.equal(seoul.modelDetails?.modelLifecycle?.endOfLifeTime?.toISOString().slice(0, 10), '2027-03-10');
    const eol = await rejection(bedrock('us-east-1').send(new GetFoundationModelCommand({ modelIdentifier: HAIKU3 })));
    assert.equal(eol.name, 'ResourceNotFoundException');
    assert.equal(eol.$metadata?.httpStatusCode, 404);
    assert.match(eol.message, /^This model version has reached the end of its life/);
    const arn = await bedrock('ca-central-1').send(
      new GetFoundationModelCommand({ modelIdentifier: `arn:aws:bedrock:ca-central-1::foundation-model/${HAIKU3}` }),
    );
    assert.equal(arn.modelDetails?.modelId, HAIKU3);
  });

  it('inference profiles: a profile-only model says so; GetInferenceProfile for the geo of the region; ListInferenceProfiles', async () => {
    const sonnet = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
    const m = await bedrock('us-east-1').send(new GetFoundationModelCommand({ modelIdentifier: sonnet }));
    assert.deepEqual(m.modelDetails?.inferenceTypesSupported, ['INFERENCE_PROFILE']);
    const p = await bedrock('eu-west-1').send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: `eu.${sonnet}` }));
    assert.equal(p.status, 'ACTIVE');
    assert.equal(p.type, 'SYSTEM_DEFINED');
    assert.equal(p.models?.[0]?.modelArn, `arn:aws:bedrock:eu-west-1::foundation-model/${sonnet}`);
    const wrongGeo = await rejection(
      bedrock('eu-west-1').send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: `us.${sonnet}` })),
    );
    assert.equal(wrongGeo.name, 'ResourceNotFoundException');
    const list = await bedrock('us-west-2').send(new ListInferenceProfilesCommand({}));
    assert.deepEqual(
      list.inferenceProfileSummaries?.map((s) => s.inferenceProfileId),
      ['us.amazon.nova-micro-v1:0', 'global.amazon.nova-micro-v1:0'],
    );
    const profileAsModel = await rejection(bedrock('us-east-1').send(new GetFoundationModelCommand({ modelIdentifier: `us.${sonnet}` })));
    assert.equal(profileAsModel.name, 'ValidationException');
  });

  it('STS GetCallerIdentity: the identity of a known key; InvalidClientTokenId (403 XML) for another; SignatureDoesNotMatch for a wrong secret', async () => {
    const sts = (accessKeyId: string, secretAccessKey = credentials.secretAccessKey) =>
      new STSClient({ region: 'us-east-1', endpoint: emu.url, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    const id = await sts(credentials.accessKeyId).send(new GetCallerIdentityCommand({}));
    assert.deepEqual([id.Account, id.Arn, id.UserId], ['000000000000', 'arn:aws:iam::000000000000:user/t', 'AIDAT']);
    const bad = await rejection(sts('AKIAUNKNOWNKEY000001').send(new GetCallerIdentityCommand({})));
    assert.equal(bad.name, 'InvalidClientTokenId');
    assert.equal(bad.$metadata?.httpStatusCode, 403);
    assert.equal(bad.message, 'The security token included in the request is invalid');
    // The right key with another secret: the signature is checked.
    const wrongSecret = await rejection(sts(credentials.accessKeyId, 'not-the-secret').send(new GetCallerIdentityCommand({})));
    assert.equal(wrongSecret.name, 'SignatureDoesNotMatch');
    assert.equal(wrongSecret.$metadata?.httpStatusCode, 403);
    assert.match(wrongSecret.message, /^The request signature we calculated does not match/);
    // Unsigned: the Query API's MissingAuthenticationToken.
    const res = await fetch(emu.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>MissingAuthenticationToken<\/Code>/);
  });

  it('model calls still work on the same URL', async () => {
    const res = await fetch(`${emu.url}/model/amazon.nova-micro-v1%3A0/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    });
    assert.equal(res.status, 200);
  });
});
