import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { allKeyDocs, configTable, END, START } from '../../scripts/config-table';

describe('README', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../..', 'README.md'), 'utf8');

  it('documents every configuration key exactly as the config schema does', () => {
    const table = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END)).trim();
    assert.equal(table, configTable(), 'run `npx tsx scripts/config-table.ts --write` to refresh the table');
    for (const k of allKeyDocs()) assert.ok(readme.includes(`\`${k.key}\``), k.key);
  });

  it('quick start holds the install-and-run command and the test command CI runs', () => {
    assert.match(readme, /npm install && npm run demo/);
    assert.match(readme, /npm test/);
    const ci = fs.readFileSync(path.join(__dirname, '../..', '.ci', 'run'), 'utf8');
    assert.match(ci, /npm test/);
  });
});
