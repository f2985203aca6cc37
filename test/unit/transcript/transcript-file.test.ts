import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTranscriptFile } from '../../../transcript/transcript-file';

// A transcript's first data row carries its conversation id (renderTranscriptCsv's column order).
const csv = (id: string, text: string) => `header\r\nrow,${id},${text}\r\n`;

describe('writeTranscriptFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-transcript-file-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the asked-for name, and a re-run of the same conversation replaces its own file', async () => {
    const first = await writeTranscriptFile(dir, 'talk.csv', 'c-1', csv('c-1', 'one'));
    assert.equal(first, path.join(dir, 'talk.csv'));
    const again = await writeTranscriptFile(dir, 'talk.csv', 'c-1', csv('c-1', 'two'));
    assert.equal(again, first);
    assert.match(fs.readFileSync(first, 'utf8'), /two/);
  });

  it("never overwrites another conversation's transcript: the id is added to the name", async () => {
    await writeTranscriptFile(dir, 'talk.csv', 'c-1', csv('c-1', 'one'));
    const other = await writeTranscriptFile(dir, 'talk.csv', 'c-2', csv('c-2', 'two'));
    assert.equal(other, path.join(dir, 'talk-c-2.csv'));
    assert.match(fs.readFileSync(path.join(dir, 'talk.csv'), 'utf8'), /one/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['talk-c-2.csv', 'talk.csv'], 'no temp files left');
  });

  it('a re-run removes the temp files a killed attempt of the same conversation left, and only those', async () => {
    fs.writeFileSync(path.join(dir, '.c-1.4242.1700000000000.tmp'), 'half a transcript');
    fs.writeFileSync(path.join(dir, '.c-2.4242.1700000000000.tmp'), 'another conversation, still being written');
    await writeTranscriptFile(dir, 'talk.csv', 'c-1', csv('c-1', 'one'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.c-2.4242.1700000000000.tmp', 'talk.csv']);
  });
});
