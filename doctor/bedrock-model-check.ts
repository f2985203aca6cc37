/**
 * `bedrock.model` and `bedrock.inference-profile`: the default cloud model (BEDROCK_MODEL_ID) in
 * AWS_REGION, asked of the Bedrock control plane and compared with the model catalogue.
 *
 * - GetFoundationModel: `modelLifecycle.status` ACTIVE or LEGACY; an end-of-life model answers
 *   `ResourceNotFoundException` "This model version has reached the end of its life" (AWS model
 *   lifecycle page and issue 20, read 2026-12-02). Lifecycle is per region.
 * - Inference profiles: an id with a geographic prefix (`us.`, `eu.`, `apac.`, `global.`) or a
 *   profile ARN is looked up with GetInferenceProfile; a bare id of a model that is invoked only
 *   through a profile (`inferenceTypesSupported` without ON_DEMAND, or the catalogue's
 *   `inferenceProfile: "required"`) fails: Converse answers it with ValidationException
 *   "Invocation of model ID … with on-demand throughput isn't supported" (the runtime emulator
 *   reproduces that). ListInferenceProfiles then names a profile that holds the model.
 * - Access: GetFoundationModelAvailability (`entitlementAvailability`, `agreementAvailability`,
 *   `authorizationStatus`, `regionAvailability`). Model access is on by default "with the correct
 *   AWS Marketplace permissions" (Bedrock user guide, model access, read 2026-12-02); the API
 *   reference says little about each field, so anything not AVAILABLE/AUTHORIZED is a warning
 *   naming the Marketplace actions, not a failure. Unreadable (no permission, older region): skipped.
 * - Without AWS configured, the catalogue alone decides (the emulator refuses what it says is
 *   end-of-life).
 *
 * The identity here is this process's; the deployed Lambda calls Bedrock with its own role.
 */
import {
  type BedrockClient,
  GetFoundationModelAvailabilityCommand,
  type GetFoundationModelAvailabilityCommandOutput,
  GetFoundationModelCommand,
  type GetFoundationModelCommandOutput,
  GetInferenceProfileCommand,
  ListInferenceProfilesCommand,
} from '@aws-sdk/client-bedrock';
import { geoPrefixOf } from '../shared/inference-profile-geo';
import { baseModelId, type ModelLifecycle } from '../shared/model-catalog';
import { cloudConfigured, createBedrockControlClient } from './aws-clients';
import { type Check, type CheckResult, describeError, fail, ok, skip, warn, within } from './check-result';

const MODEL = 'bedrock.model';
const PROFILE = 'bedrock.inference-profile';
const ACCESS = 'bedrock.access';
const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\./;

const day = (d: Date | string | undefined) => (d === undefined ? undefined : (typeof d === 'string' ? d : d.toISOString()).slice(0, 10));

function replacementHint(life: ModelLifecycle | undefined): string {
  return life?.replacement
    ? `set BEDROCK_MODEL_ID to ${life.replacement} (the catalogue's replacement)`
    : 'set BEDROCK_MODEL_ID to an active model (README, "Running against the real services")';
}

/** The catalogue's view alone (no AWS to ask). */
function fromCatalogue(id: string, region: string, life: ModelLifecycle | undefined, why: string): CheckResult {
  if (!life)
    return warn(
      MODEL,
      `${id}: not in the model catalogue (no caps, prices or lifecycle known); ${why}`,
      'add a row for it in MODEL_CATALOG_FILE, or pick a catalogued model',
      'MODEL_CATALOG_FILE',
    );
  if (life.status === 'end_of_life') {
    return fail(
      MODEL,
      `${id} (${life.family}) is end-of-life in ${region} since ${life.endOfLifeDate ?? '(date unknown)'} per the catalogue; ${why}`,
      replacementHint(life),
      'BEDROCK_MODEL_ID',
    );
  }
  if (life.status === 'legacy') {
    return warn(
      MODEL,
      `${id} (${life.family}) is Legacy in ${region}${life.endOfLifeDate ? `, end of life ${life.endOfLifeDate}` : ''} per the catalogue; ${why}`,
      replacementHint(life),
      'BEDROCK_MODEL_ID',
    );
  }
  return ok(MODEL, `${id} (${life.family}) is active in ${region} per the catalogue; ${why}`);
}

async function findProfile(client: BedrockClient, base: string, ctx: Parameters<Check>[0]): Promise<string | undefined> {
  const guess = `${geoPrefixOf(ctx.config.awsRegion)}.${base}`;
  try {
    const p = await within(
      client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: guess })),
      ctx.timeoutMs,
      'GetInferenceProfile',
    );
    if (p.status === 'ACTIVE') return p.inferenceProfileId ?? guess;
  } catch {
    // Not that one: look through the list.
  }
  let nextToken: string | undefined;
  for (let page = 0; page < 5; page++) {
    const list = await within(
      client.send(new ListInferenceProfilesCommand({ maxResults: 100, nextToken })),
      ctx.timeoutMs,
      'ListInferenceProfiles',
    ).catch(() => undefined);
    const hit = list?.inferenceProfileSummaries?.find(
      (s) => s.status === 'ACTIVE' && s.models?.some((m) => m.modelArn?.endsWith(`/${base}`)),
    );
    if (hit) return hit.inferenceProfileId;
    nextToken = list?.nextToken;
    if (!nextToken) break;
  }
  return undefined;
}

/** `bedrock.access`: what GetFoundationModelAvailability says about using the model from this account. */
async function accessLine(client: BedrockClient, base: string, ctx: Parameters<Check>[0]): Promise<CheckResult> {
  let a: GetFoundationModelAvailabilityCommandOutput;
  try {
    a = await within(
      client.send(new GetFoundationModelAvailabilityCommand({ modelId: base })),
      ctx.timeoutMs,
      'GetFoundationModelAvailability',
    );
  } catch (err) {
    return skip(ACCESS, `model availability not readable (${describeError(err)}): access is known at the first call`);
  }
  const state = `entitlement ${a.entitlementAvailability}, agreement ${a.agreementAvailability?.status}, authorization ${a.authorizationStatus}, region ${a.regionAvailability}`;
  if (a.regionAvailability === 'NOT_AVAILABLE')
    return warn(
      ACCESS,
      `${base} is not offered in ${ctx.config.awsRegion} (${state})`,
      'change AWS_REGION or BEDROCK_MODEL_ID',
      'AWS_REGION',
    );
  if (
    a.entitlementAvailability === 'NOT_AVAILABLE' ||
    a.authorizationStatus === 'NOT_AUTHORIZED' ||
    (a.agreementAvailability?.status && a.agreementAvailability.status !== 'AVAILABLE')
  ) {
    return warn(
      ACCESS,
      `${base}: ${state}${a.agreementAvailability?.errorMessage ? ` (${a.agreementAvailability.errorMessage})` : ''}`,
      "the first call of a third-party model subscribes through AWS Marketplace: the calling role (the Lambda's, deploy/template.yaml) needs aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe, and access can then take minutes",
      'BEDROCK_MODEL_ID',
    );
  }
  return ok(ACCESS, `${base}: ${state}`);
}

export const bedrockModelCheck: Check = async (ctx) => {
  const { config, env, catalog } = ctx;
  const id = config.bedrockModelId;
  const region = config.awsRegion;
  const life = catalog.lifecycle(id, region);
  if (!cloudConfigured(config, env)) return [fromCatalogue(id, region, life, 'no AWS configured to ask')];

  const { client, target } = createBedrockControlClient(config, env, ctx.timeoutMs);
  const out: CheckResult[] = [];
  try {
    let base = baseModelId(id);
    const isProfile = PROFILE_PREFIX.test(id) || /:(application-)?inference-profile\//.test(id);
    if (isProfile) {
      try {
        const p = await within(
          client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: id })),
          ctx.timeoutMs,
          'GetInferenceProfile',
        );
        const arn = p.models?.[0]?.modelArn;
        if (arn) base = arn.replace(/^.*foundation-model\//, '');
        out.push(
          p.status === 'ACTIVE'
            ? ok(PROFILE, `${id}: ${p.type ?? ''} profile ${p.status}, ${p.models?.length ?? 0} region(s)`)
            : fail(PROFILE, `${id}: profile status ${p.status}`, 'use an ACTIVE inference profile', 'BEDROCK_MODEL_ID'),
        );
      } catch (err) {
        out.push(
          fail(
            PROFILE,
            `${id} in ${region} via ${target.where}: ${describeError(err)}`,
            `use an inference profile that exists in ${region} (aws bedrock list-inference-profiles --region ${region})`,
            'BEDROCK_MODEL_ID',
          ),
        );
      }
    }
    let details: GetFoundationModelCommandOutput['modelDetails'];
    try {
      details = (await within(client.send(new GetFoundationModelCommand({ modelIdentifier: base })), ctx.timeoutMs, 'GetFoundationModel'))
        .modelDetails;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const found = `${base} in ${region} via ${target.where}: ${describeError(err)}`;
      if (e.name === 'ResourceNotFoundException' && /end of its life/i.test(e.message ?? '')) {
        out.unshift(
          fail(
            MODEL,
            `${found}${life?.endOfLifeDate ? ` (catalogue: end of life ${life.endOfLifeDate})` : ''}`,
            replacementHint(life),
            'BEDROCK_MODEL_ID',
          ),
        );
      } else if (e.name === 'AccessDeniedException') {
        out.unshift({
          ...fromCatalogue(id, region, life, `Bedrock refused GetFoundationModel (${describeError(err)})`),
          ...(life?.status === 'active'
            ? {
                status: 'warn' as const,
                fix: 'allow bedrock:GetFoundationModel to this identity to check the lifecycle with AWS',
                setting: 'AWS_PROFILE',
              }
            : {}),
        });
      } else if (e.name === 'ResourceNotFoundException' || e.name === 'ValidationException') {
        out.unshift(
          fail(
            MODEL,
            found,
            `BEDROCK_MODEL_ID must name a model offered in ${region} (aws bedrock list-foundation-models --region ${region}), or change AWS_REGION`,
            'BEDROCK_MODEL_ID',
          ),
        );
      } else {
        out.unshift(
          fail(MODEL, found, 'the Bedrock control plane cannot be reached: check credentials, network and AWS_REGION', 'AWS_REGION'),
        );
      }
      return out;
    }
    const status = details?.modelLifecycle?.status ?? 'ACTIVE';
    const family = life ? ` (${life.family})` : '';
    const catalogNote = !life
      ? '; not in the model catalogue (no caps or prices known)'
      : status === 'ACTIVE' && life.status !== 'active'
        ? `; the catalogue says ${life.status}: it may be out of date`
        : '';
    if (status === 'LEGACY') {
      const eol = day(details?.modelLifecycle?.endOfLifeTime) ?? life?.endOfLifeDate;
      out.unshift(
        warn(
          MODEL,
          `${base}${family} is LEGACY in ${region}${eol ? `, end of life ${eol}` : ''} (Bedrock); a Legacy model unused for a while answers ResourceNotFoundException "Access denied"${catalogNote}`,
          replacementHint(life),
          'BEDROCK_MODEL_ID',
        ),
      );
    } else if (!life) {
      out.unshift(
        warn(
          MODEL,
          `${base} is ${status} in ${region} (Bedrock)${catalogNote}`,
          'add a row for it in MODEL_CATALOG_FILE (budgets refuse a model without a price)',
          'MODEL_CATALOG_FILE',
        ),
      );
    } else {
      out.unshift(ok(MODEL, `${base}${family} is ${status} in ${region} (Bedrock via ${target.where})${catalogNote}`));
    }
    out.push(await accessLine(client, base, ctx));
    const types: string[] = details?.inferenceTypesSupported ?? [];
    const needsProfile =
      catalog.lookup(base)?.inferenceProfile === 'required' ||
      (types.length > 0 && !types.includes('ON_DEMAND') && types.includes('INFERENCE_PROFILE'));
    if (!isProfile && needsProfile) {
      const profile = await findProfile(client, base, ctx);
      out.push(
        fail(
          PROFILE,
          `${id} is invoked only through an inference profile: an on-demand call answers ValidationException "on-demand throughput isn't supported"`,
          profile
            ? `set BEDROCK_MODEL_ID=${profile}`
            : `set BEDROCK_MODEL_ID to an inference profile holding ${base} (aws bedrock list-inference-profiles --region ${region})`,
          'BEDROCK_MODEL_ID',
        ),
      );
    }
    return out;
  } finally {
    client.destroy();
  }
};
