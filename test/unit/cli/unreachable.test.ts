import assert from 'node:assert/strict';
import net from 'node:net';
import { ApiClient, type UrlSource } from '../../../cli/api-client';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the CLI when no producer answers', () => {
  const attempt = async (urlFrom: UrlSource) => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await new ApiClient({ url, urlFrom }).list(1).then(
      () => assert.fail('a closed port answered'),
      (e: Error) => e,
    );
    return { url, message: err.message };
  };

  it('names the URL, that it is the default, `npm start` and LLMCONV_URL', async () => {
    const { url, message } = await attempt('default');
    assert.equal(
      message,
      `cannot reach ${url} (the default): ECONNREFUSED. Start the local stack with \`npm start\`, or set LLMCONV_URL (or --url) to your producer`,
    );
  });

  it('says which setting gave the URL: LLMCONV_URL or --url', async () => {
    assert.match(
      (await attempt('env')).message,
      /\(from LLMCONV_URL\): ECONNREFUSED\. Is a producer running there\? .*`npm start`.*set LLMCONV_URL \(or --url\)/,
    );
    assert.match((await attempt('flag')).message, /\(from --url\): ECONNREFUSED\. .*set --url \(or LLMCONV_URL\)/);
  });
});
