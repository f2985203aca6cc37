import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { nodeMajor, OLDEST_SUPPORTED_MAJOR, SDK_NODE_WARNING_VARIABLE } from '../../stack/node-support';

const ROOT = path.join(__dirname, '../..');

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

describe("the AWS SDK's Node-version notice (a real client in a fresh Node)", () => {
  it(`the real AWS SDK client warns only below Node ${OLDEST_SUPPORTED_MAJOR}, and not once replaced (this Node: ${process.version})`, function () {
    this.timeout(30_000);
    const plain = sdkWarnings(false).filter((w) => w.includes('NodeVersionSupportWarning'));
    assert.equal(plain.length, nodeMajor() < OLDEST_SUPPORTED_MAJOR ? 1 : 0, JSON.stringify(plain));
    assert.deepEqual(sdkWarnings(true), []);
  });
});
