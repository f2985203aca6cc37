import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  nodeMajor,
  OLDEST_SUPPORTED_MAJOR,
  oldNodeNotice,
  replaceSdkNodeWarning,
  SDK_NODE_WARNING_VARIABLE,
} from '../../../stack/node-support';

const ROOT = path.join(__dirname, '../../..');

/** Makes a real Bedrock Runtime client in a fresh Node (this one's binary) and counts the warnings it emits. */
function sdkWarnings(replace: boolean): string[] {
  const script = `
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.message.split('\\n')[0]));
    ${replace ? "require('./stack/node-support').replaceSdkNodeWarning();" : ''}
    const { BedrockRuntimeClient } = require('@aws-sdk/client-bedrock-runtime');
    new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    setImmediate(() => console.log(JSON.stringify(warnings)));
  `;
  const env = { ...process.env };
  delete env[SDK_NODE_WARNING_VARIABLE];
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('supported Node.js lines', () => {
  it('22 and 24 are supported and get no notice; 20 gets one line naming both and the README section', () => {
    for (const v of ['v22.12.0', 'v24.21.0', 'v26.0.0']) assert.equal(oldNodeNotice(v), undefined, v);
    const notice = oldNodeNotice('v20.20.2');
    assert.ok(notice);
    assert.match(notice, /node v20\.20\.2 is past its end of life: use Node 22 or 24 \(README, "Node\.js and npm"\)/);
    assert.doesNotMatch(notice, /\n/);
    assert.equal(nodeMajor('v20.20.2'), 20);
    assert.equal(OLDEST_SUPPORTED_MAJOR, 22);
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

  it(`the real AWS SDK client warns only below Node ${OLDEST_SUPPORTED_MAJOR}, and not once replaced (this Node: ${process.version})`, function () {
    this.timeout(30_000);
    const plain = sdkWarnings(false).filter((w) => w.includes('NodeVersionSupportWarning'));
    assert.equal(plain.length, nodeMajor() < OLDEST_SUPPORTED_MAJOR ? 1 : 0, JSON.stringify(plain));
    assert.deepEqual(sdkWarnings(true), []);
  });
});
