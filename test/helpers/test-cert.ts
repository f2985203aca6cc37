/**
 * A throw-away self-signed certificate for 127.0.0.1, made with the `openssl` binary (node:crypto
 * cannot issue X.509 certificates). Returns undefined when openssl is missing: callers skip.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** PEM key and certificate (the certificate is its own CA). */
export interface TestCert {
  key: Buffer;
  cert: Buffer;
}

/** Makes a one-day certificate with subjectAltName IP:127.0.0.1; undefined without openssl. */
export function makeTestCert(): TestCert | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
