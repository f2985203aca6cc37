import assert from 'node:assert/strict';
import { parseExportQuery } from '../../../export/export-options';
import { ValidationError } from '../../../shared/errors';

const parse = (q: Record<string, string | string[]>) => parseExportQuery(q, { escapeFormulas: true });
const rejects = (q: Record<string, string | string[]>, re: RegExp) =>
  assert.throws(
    () => parse(q),
    (e: unknown) => e instanceof ValidationError && e.status === 400 && re.test((e as Error).message),
  );

describe('export query parsing', () => {
  it('reads format, assistant and the comma-separated filters', () => {
    const o = parse({ format: 'sharegpt', assistant: 'local', status: 'completed,failed', stopReason: 'max_turns, stop_phrase' });
    assert.equal(o.format, 'sharegpt');
    assert.equal(o.assistant, 'local');
    assert.deepEqual([...o.statuses!], ['completed', 'failed']);
    assert.deepEqual([...o.stopReasons!], ['max_turns', 'stop_phrase']);
  });

  it('defaults: cloud as assistant, finished conversations of every status and stop reason', () => {
    const o = parse({ format: 'openai' });
    assert.equal(o.assistant, 'cloud');
    assert.deepEqual([...o.statuses], ['completed', 'failed', 'cancelled', 'timed_out']);
    assert.deepEqual([...parse({ format: 'openai', status: 'running' }).statuses], ['running']);
    assert.equal(o.stopReasons, undefined);
    assert.equal(o.metadata, false, "openai lines hold only the format's keys unless asked");
    assert.equal(parse({ format: 'openai', metadata: 'true' }).metadata, true);
    assert.equal(parse({ format: 'sharegpt' }).metadata, true, 'sharegpt keeps its metadata');
    assert.equal(parse({ format: 'sharegpt', metadata: 'false' }).metadata, false);
    assert.deepEqual(o.weights, { mark: 'none' });
    assert.deepEqual(parse({ format: 'openai', weights: '2, 3' }).weights, { mark: 'turns', turns: new Set([2, 3]) });
    assert.equal(o.sharegptSystem, 'turn');
    const hf = parse({ format: 'hf', license: 'cc-by-4.0', language: 'en,fr' });
    assert.deepEqual([hf.license, hf.language], ['cc-by-4.0', ['en', 'fr']]);
    assert.deepEqual([o.license, o.language], ['other', []]);
  });

  it('names the bad parameter', () => {
    rejects({}, /^format is required/);
    rejects({ format: 'arrow' }, /^format must be one of openai, sharegpt, csv, dpo, parquet, hf, got "arrow"/);
    rejects({ format: 'openai', metadata: 'yes' }, /^metadata must be true or false, got "yes"/);
    rejects({ format: 'csv', metadata: 'true' }, /^metadata applies to format=openai and sharegpt/);
    rejects({ format: 'sharegpt', weights: 'last' }, /^weights applies to format=openai only/);
    rejects({ format: 'openai', weights: 'first' }, /^weights must be none, all, last or a comma-separated list of turn numbers/);
    rejects({ format: 'openai', weights: '0' }, /^weights must be/);
    rejects({ format: 'sharegpt', sharegptSystem: 'top' }, /^sharegptSystem must be turn .* or field/);
    rejects({ format: 'hf', license: 'Apache 2' }, /^license must be a Hugging Face license id/);
    rejects({ format: 'hf', language: 'en,English' }, /^language must be a comma-separated list of ISO 639 codes.*"English"/);
    rejects({ format: 'openai', assistant: 'both' }, /^assistant must be cloud or local, got "both"/);
    rejects({ format: 'openai', status: 'completed,done' }, /^status must be .*got "done"/);
    rejects({ format: 'openai', stopReason: 'max turns' }, /^stopReason must be .*got "max turns"/);
    rejects({ format: ['openai', 'csv'] }, /^format is given 2 times/);
  });
});
