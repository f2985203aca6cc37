import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../shared/config';
import { ConfigError } from '../../../shared/errors';
import { baseModelId, checkFamilies, loadModelCatalog, SHIPPED_CATALOG } from '../../../shared/model-catalog';
import shipped from '../../../shared/model-catalog.json';

// The shipped rows were read on 2026-12-02 (sources in each row: litellm's
// model_prices_and_context_window.json, the Bedrock user guide's lifecycle pages, reported
// Bedrock/Anthropic answers). These tests hold the catalogue to its own rules and pin the facts
// the producer and the Lambda act on.
describe('model catalogue (shared/model-catalog.json)', () => {
  it('every row says where and when its facts were read, and its pattern compiles', () => {
    assert.ok(SHIPPED_CATALOG.families().length >= 40, 'every current family in Converse');
    for (const f of SHIPPED_CATALOG.families()) {
      assert.ok(f.source.length > 20, `${f.family}: source`);
      assert.match(f.readOn, /^\d{4}-\d{2}(-\d{2})?$/, `${f.family}: readOn`);
      assert.doesNotThrow(() => new RegExp(f.match), f.family);
      // A date suffix may only be optional: `(-\d{8})?`.
      assert.ok(
        !f.match.split('(-\\d{8})?').join('').includes('\\d{8}'),
        `${f.family}: a pattern never requires a date suffix (${f.match})`,
      );
    }
  });

  it('one row per family: no two rows share a name, and every example id is matched by its own row first', () => {
    const names = SHIPPED_CATALOG.families().map((f) => f.family);
    assert.equal(new Set(names).size, names.length, 'duplicate family names');
    let examples = 0;
    for (const f of SHIPPED_CATALOG.families()) {
      for (const id of f.examples ?? []) {
        examples++;
        assert.equal(SHIPPED_CATALOG.lookup(id)?.family, f.family, id);
      }
    }
    assert.ok(examples > 80, `${examples} example ids`);
  });

  it('matches the current id forms: undated ids, inference-profile ids, ARNs, dated ids', () => {
    const cases: Array<[string, string | undefined]> = [
      ['anthropic.claude-opus-4-7', 'Claude Opus 4.7'],
      ['us.anthropic.claude-opus-4-7', 'Claude Opus 4.7'],
      ['global.anthropic.claude-opus-4-7', 'Claude Opus 4.7'],
      ['us.anthropic.claude-opus-4-6-v1', 'Claude Opus 4.6'],
      ['anthropic.claude-sonnet-4-6', 'Claude Sonnet 4.6'],
      ['anthropic.claude-sonnet-5', 'Claude Sonnet 5'],
      ['global.anthropic.claude-sonnet-5-5', 'Claude Sonnet 5.5'],
      ['us.anthropic.claude-opus-5-5', 'Claude Opus 5.5'],
      ['anthropic.claude-fable-5-1', 'Claude Fable 5.1'],
      ['arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0', 'Claude Haiku 4.5'],
      ['arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'Claude Sonnet 4.5'],
      ['anthropic.claude-sonnet-4-20250514-v1:0', 'Claude Sonnet 4'],
      ['anthropic.claude-opus-4-1-20250805-v1:0', 'Claude Opus 4.1'],
      ['anthropic.claude-opus-4-20250514-v1:0', 'Claude Opus 4'],
      ['anthropic.claude-3-haiku-20240307-v1:0', 'Claude 3 Haiku'],
      ['anthropic.claude-3-haiku-20240307-v1:0:200k', 'Claude 3 Haiku'],
      ['amazon.nova-micro-v1:0', 'Amazon Nova Micro'],
      ['us.amazon.nova-2-lite-v1:0', 'Amazon Nova 2 Lite'],
      ['openai.gpt-oss-120b-1:0', 'OpenAI gpt-oss-120b'],
      ['qwen.qwen3-235b-a22b-2507-v1:0', 'Qwen3 235B A22B (2507)'],
      ['us.deepseek.r1-v1:0', 'DeepSeek-R1'],
      ['deepseek.v3.2', 'DeepSeek V3.2'],
      ['us.meta.llama4-scout-17b-instruct-v1:0', 'Meta Llama 4 Scout 17B'],
      ['mistral.mistral-large-3-675b-instruct', 'Mistral Large 3 (675B)'],
      // A family the catalogue does not know is not folded into a neighbour's row.
      ['anthropic.claude-opus-4-9', undefined],
      ['anthropic.claude-sonnet-6', undefined],
      ['example.unknown-model-v1', undefined],
    ];
    for (const [id, family] of cases) assert.equal(SHIPPED_CATALOG.lookup(id)?.family, family, id);
  });

  it('reduces inference-profile ids and ARNs to the base model id', () => {
    const base = 'anthropic.claude-3-5-sonnet-20241022-v2:0';
    for (const id of [
      base,
      `us.${base}`,
      `eu.${base}`,
      `apac.${base}`,
      `global.${base}`,
      `us-gov.${base}`,
      `arn:aws:bedrock:us-east-1::foundation-model/${base}`,
      `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.${base}`,
    ]) {
      assert.equal(baseModelId(id), base, id);
    }
    const app = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    assert.equal(baseModelId(app), app, 'an application profile names no model');
  });

  it('output caps and default maxTokens: lowered to the cap, larger for models that always reason', () => {
    const caps: Array<[string, number | undefined]> = [
      ['anthropic.claude-3-haiku-20240307-v1:0', 4096],
      ['us.anthropic.claude-opus-4-7', 128000],
      ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 64000],
      ['us.anthropic.claude-opus-4-1-20250805-v1:0', 32000],
      ['meta.llama3-70b-instruct-v1:0', 2048],
      ['amazon.nova-micro-v1:0', 5000],
      ['mistral.mixtral-8x7b-instruct-v0:1', 4096],
      ['example.unknown-model-v1', undefined],
    ];
    for (const [id, cap] of caps) assert.equal(SHIPPED_CATALOG.outputCap(id), cap, id);
    assert.equal(SHIPPED_CATALOG.defaultMaxTokens('meta.llama3-8b-instruct-v1:0', 4096), 2048);
    assert.equal(SHIPPED_CATALOG.defaultMaxTokens('amazon.nova-micro-v1:0', 1024), 1024);
    assert.equal(SHIPPED_CATALOG.defaultMaxTokens('openai.gpt-oss-20b-1:0', 1024), 4096, 'gpt-oss reasons before answering');
    assert.equal(SHIPPED_CATALOG.defaultMaxTokens('us.deepseek.r1-v1:0', 1024), 4096);
    assert.equal(SHIPPED_CATALOG.defaultMaxTokens('global.anthropic.claude-sonnet-5-5', 1024), 4096, 'Sonnet 5.5 thinks by default');
    assert.equal(SHIPPED_CATALOG.defaultMaxTokens('example.unknown-model-v1', 1024), 1024);
    assert.equal(
      SHIPPED_CATALOG.maxTokensProblem('us.meta.llama3-1-8b-instruct-v1:0', 4000, 'parameters.max_tokens'),
      'parameters.max_tokens 4000 is above the output cap of us.meta.llama3-1-8b-instruct-v1:0 (Meta Llama 3.1 8B Instruct): at most 2048',
    );
    assert.equal(SHIPPED_CATALOG.maxTokensProblem('example.unknown-model-v1', 1_000_000), undefined);
  });

  it('prices per 1k tokens with cache read/write; geographic profiles carry their markup, global ones do not', () => {
    const opus = SHIPPED_CATALOG.prices('anthropic.claude-opus-4-7')!;
    assert.deepEqual(opus, { inputPer1k: 0.005, outputPer1k: 0.025, cacheReadPer1k: 0.0005, cacheWritePer1k: 0.00625 });
    assert.deepEqual(SHIPPED_CATALOG.prices('global.anthropic.claude-opus-4-7'), opus);
    assert.deepEqual(SHIPPED_CATALOG.prices('us.anthropic.claude-opus-4-7'), {
      inputPer1k: 0.0055,
      outputPer1k: 0.0275,
      cacheReadPer1k: 0.00055,
      cacheWritePer1k: 0.006875,
    });
    // The old table priced Opus 4.6+ as Opus 4/4.1 (three times as much).
    assert.equal(SHIPPED_CATALOG.prices('us.anthropic.claude-opus-4-6-v1')!.inputPer1k, 0.0055);
    // Cache read: a third-party model table (catalogue row's caching.source), read 2026-12-03.
    assert.deepEqual(SHIPPED_CATALOG.prices('amazon.nova-micro-v1:0'), {
      inputPer1k: 0.000035,
      outputPer1k: 0.00014,
      cacheReadPer1k: 0.00000875,
    });
    assert.equal(SHIPPED_CATALOG.prices('example.unknown-model-v1'), undefined);
    for (const f of SHIPPED_CATALOG.families()) {
      if (!f.prices) assert.ok(f.notes, `${f.family}: a row without prices says why in notes`);
    }
  });

  it('accepted parameters: Opus 4.7+ / Sonnet 5 reject temperature, the 4.5 family the pair, Claude 3 takes both', () => {
    assert.deepEqual(SHIPPED_CATALOG.accepted('us.anthropic.claude-opus-4-7'), {
      temperature: false,
      topP: false,
      temperatureWithTopP: false,
      system: true,
    });
    assert.equal(SHIPPED_CATALOG.accepted('anthropic.claude-sonnet-5').temperature, false);
    assert.equal(SHIPPED_CATALOG.accepted('global.anthropic.claude-opus-5-5').temperature, false);
    const sonnet45 = SHIPPED_CATALOG.accepted('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    assert.ok(sonnet45.temperature && sonnet45.topP && !sonnet45.temperatureWithTopP);
    assert.equal(SHIPPED_CATALOG.accepted('us.anthropic.claude-haiku-4-5-20251001-v1:0').temperatureWithTopP, false);
    assert.deepEqual(SHIPPED_CATALOG.accepted('anthropic.claude-3-haiku-20240307-v1:0'), {
      temperature: true,
      topP: true,
      temperatureWithTopP: true,
      system: true,
    });
    assert.equal(SHIPPED_CATALOG.accepted('amazon.titan-text-express-v1').system, false, 'Titan takes no system prompt in Converse');
    assert.deepEqual(SHIPPED_CATALOG.accepted('example.unknown-model-v1'), {
      temperature: true,
      topP: true,
      temperatureWithTopP: true,
      system: true,
    });
  });

  it('lifecycle per region: Claude 3 Haiku end-of-life in most regions, active in three, legacy in ap-northeast-2', () => {
    const haiku = 'anthropic.claude-3-haiku-20240307-v1:0';
    assert.deepEqual(SHIPPED_CATALOG.lifecycle(haiku, 'us-east-1'), {
      status: 'end_of_life',
      legacyDate: '2026-03-10',
      endOfLifeDate: '2026-09-10',
      family: 'Claude 3 Haiku',
      replacement: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    });
    for (const r of ['ca-central-1', 'eu-central-2', 'sa-east-1']) assert.equal(SHIPPED_CATALOG.lifecycle(haiku, r)?.status, 'active', r);
    assert.equal(SHIPPED_CATALOG.lifecycle(haiku, 'ap-northeast-2')?.status, 'legacy');
    assert.equal(SHIPPED_CATALOG.lifecycle(`us.${haiku}`, 'eu-west-1')?.status, 'end_of_life');
    assert.equal(
      SHIPPED_CATALOG.replacementOf(haiku),
      'anthropic.claude-haiku-4-5-20251001-v1:0 (through an inference profile, e.g. us.anthropic.claude-haiku-4-5-20251001-v1:0)',
    );
    assert.equal(SHIPPED_CATALOG.lifecycle('anthropic.claude-opus-4-1-20250805-v1:0', 'us-east-1')?.status, 'legacy');
    assert.equal(SHIPPED_CATALOG.lifecycle('example.unknown-model-v1', 'us-east-1'), undefined);
    for (const f of SHIPPED_CATALOG.families()) {
      if (Object.values(f.lifecycle).some((e) => e.status !== 'active')) {
        assert.ok(
          Object.values(f.lifecycle).some((e) => e.endOfLifeDate) || f.family === 'Claude 3 Haiku',
          `${f.family}: a legacy/end-of-life row names its date`,
        );
      }
      if (f.replacement)
        assert.ok(SHIPPED_CATALOG.lookup(f.replacement), `${f.family}: its replacement ${f.replacement} is in the catalogue`);
    }
  });

  it('the default model is active in us-east-1, first-party, on demand with its base id, and priced', () => {
    const id = loadConfig({}).bedrockModelId;
    assert.equal(id, 'amazon.nova-micro-v1:0');
    assert.equal(SHIPPED_CATALOG.lifecycle(id, 'us-east-1')?.status, 'active');
    assert.notEqual(SHIPPED_CATALOG.lookup(id)?.inferenceProfile, 'required');
    assert.ok(SHIPPED_CATALOG.prices(id));
    assert.ok(id.startsWith('amazon.'), 'no AWS Marketplace subscription for first-party models');
  });

  describe('MODEL_CATALOG_FILE', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'catalog-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("a YAML file's rows are matched before the shipped ones; the rest still come from the shipped rows", () => {
      const file = path.join(dir, 'catalog.yaml');
      writeFileSync(
        file,
        [
          'families:',
          '  - family: Acme Chat',
          '    match: "^acme\\\\.chat"',
          '    maxOutputTokens: 1000',
          '    prices: { inputPer1k: 0.5, outputPer1k: 1 }',
          '    source: our contract with Acme',
          '    readOn: 2026-12-01',
          '  - family: Nova Micro at our negotiated price',
          '    match: "^amazon\\\\.nova-micro-"',
          '    prices: { inputPer1k: 0.00001, outputPer1k: 0.00002 }',
          '    lifecycle: { "us-east-1": { status: legacy, endOfLifeDate: "2027-06-01" } }',
          '    source: our AWS private pricing',
          '    readOn: 2026-12-01',
        ].join('\n'),
      );
      const catalog = loadModelCatalog(file);
      assert.equal(loadModelCatalog(file), catalog, 'read once per path');
      assert.deepEqual(catalog.prices('acme.chat-1'), { inputPer1k: 0.5, outputPer1k: 1 });
      assert.equal(catalog.outputCap('acme.chat-1'), 1000);
      assert.deepEqual(catalog.prices('amazon.nova-micro-v1:0'), { inputPer1k: 0.00001, outputPer1k: 0.00002 });
      assert.equal(catalog.lifecycle('amazon.nova-micro-v1:0', 'us-east-1')?.status, 'legacy');
      assert.deepEqual(
        catalog.accepted('acme.chat-1'),
        { temperature: true, topP: true, temperatureWithTopP: true, system: true },
        'defaults filled in',
      );
      assert.equal(catalog.outputCap('us.anthropic.claude-opus-4-7'), 128000, 'shipped rows still there');
      assert.equal(loadConfig({ MODEL_CATALOG_FILE: file }).modelCatalogFile, file);
    });

    it('"replace": true drops the shipped rows', () => {
      const file = path.join(dir, 'only.json');
      writeFileSync(file, JSON.stringify({ replace: true, families: [{ family: 'X', match: '^x\\.', source: 's', readOn: '2026-12' }] }));
      const catalog = loadModelCatalog(file);
      assert.equal(catalog.families().length, 1);
      assert.equal(catalog.lookup('amazon.nova-micro-v1:0'), undefined);
    });

    it('a bad file is a ConfigError naming MODEL_CATALOG_FILE (and the row), raised when the config loads', () => {
      const bad = (name: string, text: string) => {
        const f = path.join(dir, name);
        writeFileSync(f, text);
        return f;
      };
      const cases: Array<[string, RegExp]> = [
        [path.join(dir, 'missing.json'), /MODEL_CATALOG_FILE .*missing\.json cannot be read/],
        [bad('a.json', '{'), /MODEL_CATALOG_FILE .* does not parse/],
        [bad('b.yaml', 'families: [a: b: c'), /MODEL_CATALOG_FILE .* does not parse/],
        [bad('c.json', '{"rows": []}'), /MODEL_CATALOG_FILE must hold an object with a "families" list/],
        [
          bad('d.json', JSON.stringify({ families: [{ family: 'Y', match: '(', source: 's', readOn: 'r' }] })),
          /families\[0\] \(Y\): "match" is not a regular expression/,
        ],
        [
          bad('e.json', JSON.stringify({ families: [{ family: 'Y', match: 'y' }] })),
          /families\[0\] \(Y\): every row says where \("source"\) and when \("readOn"\)/,
        ],
        [
          bad(
            'f.json',
            JSON.stringify({
              families: [{ family: 'Y', match: 'y', source: 's', readOn: 'r', prices: { inputPer1k: -1, outputPer1k: 0 } }],
            }),
          ),
          /"prices" must be/,
        ],
        [
          bad(
            'g.json',
            JSON.stringify({ families: [{ family: 'Y', match: 'y', source: 's', readOn: 'r', lifecycle: { '*': { status: 'gone' } } }] }),
          ),
          /lifecycle\["\*"\]\.status/,
        ],
        [
          bad('h.json', JSON.stringify({ families: [{ family: 'Y', match: 'y', source: 's', readOn: 'r', maxOutputTokens: 0 }] })),
          /"maxOutputTokens" must be a positive integer/,
        ],
      ];
      for (const [file, message] of cases) {
        assert.throws(
          () => loadConfig({ MODEL_CATALOG_FILE: file }),
          (e: unknown) => e instanceof ConfigError && e.key === 'MODEL_CATALOG_FILE' && message.test(e.message),
          file,
        );
      }
    });

    it('the shipped file passes the same checks as an override', () => {
      assert.doesNotThrow(() => checkFamilies(shipped, 'MODEL_CATALOG_FILE'));
    });
  });
});
