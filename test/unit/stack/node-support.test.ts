import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  nodeMajor,
  OLDEST_SUPPORTED_MAJOR,
  oldNodeNotice,
  replaceSdkNodeWarning,
  SDK_NODE_WARNING_VARIABLE,
} from '../../../stack/node-support';

describe('supported Node.js lines', () => {
  it('22 and 24 are supported and get no notice; 20 gets one line naming both and the README section', () => {
    for (const v of ['v22.12.0', 'v24.21.0', 'v26.0.0']) assert.equal(oldNodeNotice(v), undefined, v);
    const notice = oldNodeNotice('v20.20.2');
    assert.ok(notice);
    assert.match(notice, /node v20\.20\.2 is past its end of life: use Node 22 or 24 \(README, "Node\.js and npm"\)/);
    assert.doesNotMatch(notice, /\n/);
    assert.equal(nodeMajor('v20.20.2'), 20);
    assert.equal(OLDEST_SUPPORTED_MAJOR, 22);
    const readme = fs.readFileSync(path.join(__dirname, '../../..', 'README.md'), 'utf8');
    assert.match(readme, /^## Node\.js and npm$/m, 'the section the note names');
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../..', 'package.json'), 'utf8'));
    assert.equal(pkg.engines.node, `^${OLDEST_SUPPORTED_MAJOR}.12.0 || >=24`);
  });

  it("replaces the SDK's notice only on an old Node and never overrides the user's own setting", () => {
    const env20: NodeJS.ProcessEnv = {};
    assert.equal(replaceSdkNodeWarning(env20, 'v20.20.2'), true);
    assert.equal(env20[SDK_NODE_WARNING_VARIABLE], 'true');
    const mine: NodeJS.ProcessEnv = { [SDK_NODE_WARNING_VARIABLE]: 'false' };
    assert.equal(replaceSdkNodeWarning(mine, 'v20.20.2'), false);
    assert.equal(mine[SDK_NODE_WARNING_VARIABLE], 'false');
    const env24: NodeJS.ProcessEnv = {};
    assert.equal(replaceSdkNodeWarning(env24, 'v24.21.0'), false);
    assert.deepEqual(env24, {});
  });
});
