// The serving certificate: the original's PKCS#1-under-"PRIVATE KEY" keys load, a mismatched pair is
// refused, and a rotated pair is served without a restart while a broken one keeps the old one.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parsePrivateKey } from '@kna/shared/private-key';
import { loadServingPair, watchServingPair } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'tls-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed serving certificate from openssl, with the given serial; returns [certPem, pkcs1 key PEM]. */
function selfSigned(serial: string): { cert: string; pkcs1: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs1 = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const keyFile = join(dir, `key-${serial}.pem`);
  writeFileSync(keyFile, pkcs1);
  const cert = execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-key',
      keyFile,
      '-subj',
      '/CN=svc.kyverno-notation-aws.svc',
      '-days',
      '1',
      '-set_serial',
      `0x${serial}`,
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  return { cert, pkcs1 };
}

/** What Go's certificate manager of the original wrote: PKCS#1 bytes under a PKCS#8 header. */
function mislabelled(pkcs1: string): string {
  return pkcs1.replace('BEGIN RSA PRIVATE KEY', 'BEGIN PRIVATE KEY').replace('END RSA PRIVATE KEY', 'END PRIVATE KEY');
}

function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('serving certificate', () => {
  it('reads a PKCS#1 key under a "PRIVATE KEY" header', () => {
    const { pkcs1 } = selfSigned('0A');
    const key = parsePrivateKey(mislabelled(pkcs1));
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.throws(() => parsePrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'));
  });

  it('refuses a key that does not belong to the certificate', () => {
    const a = selfSigned('0B');
    const b = selfSigned('0C');
    writeFileSync(join(dir, 'tls.crt'), a.cert);
    writeFileSync(join(dir, 'tls.key'), b.pkcs1);
    assert.throws(() => loadServingPair(join(dir, 'tls.crt'), join(dir, 'tls.key')), /does not belong to the certificate/);
  });

  it('serves a rotated pair without a restart and keeps the old one when the new one is broken', async () => {
    const certFile = join(dir, 'rot.crt');
    const keyFile = join(dir, 'rot.key');
    const first = selfSigned('1A');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, mislabelled(first.pkcs1));
    const pair = loadServingPair(certFile, keyFile);
    const server: Server = createServer({ key: pair.key, cert: pair.cert }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const errors: string[] = [];
    let applied = 0;
    const watcher = watchServingPair(
      {
        certFile,
        keyFile,
        pollMs: 25,
        apply: (p) => (applied++, server.setSecureContext({ key: p.key, cert: p.cert })),
        onError: (e) => errors.push(e.message),
      },
      pair,
    );
    try {
      assert.equal(await servedSerial(port), '1A');
      const second = selfSigned('2B');
      writeFileSync(keyFile, second.pkcs1);
      writeFileSync(certFile, second.cert);
      // Polled, with a bound for a loaded machine: the watcher notices a change on its next poll.
      let until = Date.now() + 30_000;
      while ((await servedSerial(port)) !== '2B' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await servedSerial(port), '2B');
      writeFileSync(certFile, 'garbage');
      until = Date.now() + 30_000;
      while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(errors.length > 0, 'the broken pair was reported');
      assert.equal(await servedSerial(port), '2B', 'the last good pair keeps serving');
      assert.equal(applied, 1);
    } finally {
      watcher.close();
      server.close();
    }
  });
});
