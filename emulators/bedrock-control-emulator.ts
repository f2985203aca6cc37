/**
 * The Bedrock control plane (`bedrock.<region>.amazonaws.com`, `@aws-sdk/client-bedrock`) for the
 * calls `llmconv doctor` makes, answered from the model catalogue for the request's region (read
 * from the SigV4 credential scope; {@link credentialScope}):
 *
 * | route | operation | answer |
 * |---|---|---|
 * | `GET /foundation-models/{modelIdentifier}` | GetFoundationModel | `{modelDetails}` with `modelLifecycle.status` ACTIVE or LEGACY (with `legacyTime`, `endOfLifeTime`); an end-of-life model: 404 `ResourceNotFoundException` "This model version has reached the end of its life" |
 * | `GET /inference-profiles/{inferenceProfileIdentifier}` | GetInferenceProfile | a system-defined profile `<geo>.<model>` (ACTIVE) for a model that takes one; else 404 |
 * | `GET /inference-profiles` | ListInferenceProfiles | the system profiles of `profileModels` for the region's geography (and `global`) |
 * | `GET /foundation-model-availability/{modelId}` | GetFoundationModelAvailability | AVAILABLE / AUTHORIZED, except `unentitledModels` (entitlement and agreement NOT_AVAILABLE, as for a third-party model without a Marketplace subscription; the field semantics are thin in the API reference, so this is a guess at their use) |
 *
 * Paths, methods and shapes are those of `@aws-sdk/client-bedrock` 3.1163 (its schemas: `GET
 * /foundation-models/{modelIdentifier}`, `GET /inference-profiles/{inferenceProfileIdentifier}`,
 * `GET /inference-profiles`; timestamps as ISO 8601 date-time), read 2026-12-02. Errors use the
 * restJson1 shape (`x-amzn-errortype` header, `{"message"}` body), like the runtime emulator.
 *
 * Not certain (say so rather than guess better): the end-of-life message beyond the sentence the
 * Bedrock docs and issue reports quote; the answer to an unknown id (here, with `models`, the
 * runtime's `ValidationException` "The provided model identifier is invalid."); the wording of a
 * missing inference profile; `inferenceTypesSupported: ["INFERENCE_PROFILE"]` for profile-only
 * models is what ListFoundationModels shows for them, though the SDK's enum names only ON_DEMAND
 * and PROVISIONED. A profile's `models` here lists only the request's region (real system profiles
 * list every region of their geography).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { geoPrefixOf } from '../shared/inference-profile-geo';
import { baseModelId, type ModelCatalog, SHIPPED_CATALOG } from '../shared/model-catalog';
import { credentialScope, EMULATED_ACCOUNT } from './aws-request';
import { sendJson, type EmulatorRequest } from './emulator-server';

export interface BedrockControlOptions {
  /** Lifecycle and inference-profile facts. Default: the shipped catalogue. */
  catalog?: ModelCatalog;
  /** Model ids that exist; others are invalid. Default: any id (lifecycle ACTIVE unless the catalogue says otherwise). */
  models?: string[];
  /** Base model ids that need an inference profile besides the catalogue's `inferenceProfile: "required"` rows. */
  profileOnlyModels?: readonly RegExp[];
  /** Base model ids ListInferenceProfiles lists system profiles for. Default none. */
  profileModels?: string[];
  /** Base model ids GetFoundationModelAvailability reports without entitlement (no Marketplace subscription). Default none. */
  unentitledModels?: string[];
  /** Region when a request carries no SigV4 scope. Default `us-east-1`. */
  defaultRegion?: string;
}

/** The message of Bedrock's ResourceNotFoundException for an end-of-life model (AWS model lifecycle docs; issue reports). */
export const END_OF_LIFE_MESSAGE =
  'This model version has reached the end of its life. Please refer to the AWS documentation for more details.';

const PROFILE_ID = /^(us|eu|apac|jp|au|ca|us-gov|global)\.(.+)$/;

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { message }, { 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() });
}

const iso = (date: string | undefined) => (date ? new Date(`${date}T00:00:00Z`).toISOString() : undefined);

/** True for the routes this module serves. */
export function isBedrockControlRequest(req: EmulatorRequest): boolean {
  return (
    req.method === 'GET' &&
    (/^\/(foundation-models|foundation-model-availability)\/[^/]+$/.test(req.path) || /^\/inference-profiles(\/[^/]+)?$/.test(req.path))
  );
}

/** Answers one control-plane request (see {@link isBedrockControlRequest}). */
export function serveBedrockControl(req: EmulatorRequest, res: ServerResponse, opts: BedrockControlOptions = {}): void {
  const catalog = opts.catalog ?? SHIPPED_CATALOG;
  const region = credentialScope(req.headers)?.region ?? opts.defaultRegion ?? 'us-east-1';
  const exists = (id: string) => !opts.models || opts.models.includes(id);
  const needsProfile = (base: string) =>
    catalog.lookup(base)?.inferenceProfile === 'required' || (opts.profileOnlyModels ?? []).some((re) => re.test(base));
  // Most current models also have system profiles when they run on demand; `"none"` in the catalogue says not.
  const takesProfile = (base: string) => needsProfile(base) || catalog.lookup(base)?.inferenceProfile !== 'none';
  const modelArn = (base: string) => `arn:aws:bedrock:${region}::foundation-model/${base}`;
  const profile = (prefix: string, base: string) => {
    const row = catalog.lookup(base);
    const id = `${prefix}.${base}`;
    return {
      inferenceProfileName: `${prefix.toUpperCase()} ${row?.family ?? base}`,
      description: `Routes requests to ${row?.family ?? base} (emulated system-defined profile).`,
      inferenceProfileArn: `arn:aws:bedrock:${region}:${EMULATED_ACCOUNT}:inference-profile/${id}`,
      models: [{ modelArn: modelArn(base) }],
      inferenceProfileId: id,
      status: 'ACTIVE',
      type: 'SYSTEM_DEFINED',
    };
  };
  let raw: string;
  try {
    raw = decodeURIComponent(req.path.split('/')[2] ?? '');
  } catch {
    sendError(res, 400, 'ValidationException', 'The provided identifier is not valid URL encoding.');
    return;
  }

  if (req.path.startsWith('/foundation-model-availability/')) {
    const entitled = !(opts.unentitledModels ?? []).includes(raw);
    const offered = exists(raw) && catalog.lifecycle(raw, region)?.status !== 'end_of_life';
    sendJson(
      res,
      200,
      {
        modelId: raw,
        agreementAvailability: { status: entitled ? 'AVAILABLE' : 'NOT_AVAILABLE' },
        authorizationStatus: 'AUTHORIZED',
        entitlementAvailability: entitled ? 'AVAILABLE' : 'NOT_AVAILABLE',
        regionAvailability: offered ? 'AVAILABLE' : 'NOT_AVAILABLE',
      },
      { 'x-amzn-requestid': randomUUID() },
    );
    return;
  }

  if (req.path.startsWith('/foundation-models/')) {
    // An ARN names its model after `foundation-model/`; a profile id is not a foundation model.
    const id = /:foundation-model\/(.+)$/.exec(raw)?.[1] ?? raw;
    if (PROFILE_ID.test(id) || !exists(id)) {
      sendError(res, 400, 'ValidationException', 'The provided model identifier is invalid.');
      return;
    }
    const life = catalog.lifecycle(id, region);
    if (life?.status === 'end_of_life') {
      sendError(res, 404, 'ResourceNotFoundException', END_OF_LIFE_MESSAGE);
      return;
    }
    const row = catalog.lookup(id);
    sendJson(
      res,
      200,
      {
        modelDetails: {
          modelArn: modelArn(id),
          modelId: id,
          modelName: row?.family ?? id,
          providerName: id.split('.')[0],
          inputModalities: ['TEXT'],
          outputModalities: ['TEXT'],
          responseStreamingSupported: true,
          customizationsSupported: [],
          inferenceTypesSupported: needsProfile(id) ? ['INFERENCE_PROFILE'] : ['ON_DEMAND'],
          modelLifecycle: {
            status: life?.status === 'legacy' ? 'LEGACY' : 'ACTIVE',
            ...(life?.legacyDate ? { legacyTime: iso(life.legacyDate) } : {}),
            ...(life?.endOfLifeDate ? { endOfLifeTime: iso(life.endOfLifeDate) } : {}),
          },
        },
      },
      { 'x-amzn-requestid': randomUUID() },
    );
    return;
  }

  if (req.path === '/inference-profiles') {
    const prefixes = [...new Set([geoPrefixOf(region), 'global'])];
    const summaries = (opts.profileModels ?? []).filter(takesProfile).flatMap((base) => prefixes.map((p) => profile(p, base)));
    sendJson(res, 200, { inferenceProfileSummaries: summaries }, { 'x-amzn-requestid': randomUUID() });
    return;
  }

  const id = /:inference-profile\/(.+)$/.exec(raw)?.[1] ?? raw;
  const m = PROFILE_ID.exec(id);
  const base = m ? baseModelId(id) : undefined;
  if (!m || !base || !exists(base) || !takesProfile(base) || (m[1] !== 'global' && m[1] !== geoPrefixOf(region))) {
    sendError(res, 404, 'ResourceNotFoundException', `The inference profile ${id} was not found in ${region}.`);
    return;
  }
  sendJson(res, 200, profile(m[1]!, base), { 'x-amzn-requestid': randomUUID() });
}
