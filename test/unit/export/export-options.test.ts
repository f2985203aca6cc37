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
  });

  it('names the bad parameter', () => {
    rejects({}, /^format is required/);
    rejects({ format: 'parquet' }, /^format must be one of openai, sharegpt, csv, dpo, got "parquet"/);
    rejects({ format: 'openai', assistant: 'both' }, /^assistant must be cloud or local, got "both"/);
    rejects({ format: 'openai', status: 'completed,done' }, /^status must be .*got "done"/);
    rejects({ format: 'openai', stopReason: 'max turns' }, /^stopReason must be .*got "max turns"/);
    rejects({ format: ['openai', 'csv'] }, /^format is given 2 times/);
  });
});
