import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { allKeyDocs, configTable, END, START, TABLE_FILE } from '../../scripts/config-table';

describe('README', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../..', 'README.md'), 'utf8');

  it('documents every configuration key exactly as the config schema does (docs/configuration.md, linked from the README)', () => {
    assert.equal(TABLE_FILE, 'docs/configuration.md');
    const doc = fs.readFileSync(path.join(__dirname, '../..', TABLE_FILE), 'utf8');
    assert.ok(doc.includes(START) && doc.indexOf(END) > doc.indexOf(START), `${TABLE_FILE} keeps the config-table markers`);
    const table = doc.slice(doc.indexOf(START) + START.length, doc.indexOf(END)).trim();
    assert.equal(table, configTable(), 'run `npx tsx scripts/config-table.ts --write` to refresh the table');
    for (const k of allKeyDocs()) assert.ok(doc.includes(`\`${k.key}\``), k.key);
    assert.ok(!readme.includes(START), 'one table: the README links to docs/configuration.md');
    assert.match(readme, /\]\(docs\/configuration\.md\)/);
  });

  it('quick start holds the install-and-run command and the test command CI runs', () => {
    assert.match(readme, /npm install && npm run demo/);
    assert.match(readme, /npm test/);
    const ci = fs.readFileSync(path.join(__dirname, '../..', '.ci', 'run'), 'utf8');
    assert.match(ci, /npm test/);
  });
});
