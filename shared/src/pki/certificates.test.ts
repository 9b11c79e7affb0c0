// Certificate issuance: CA and end-entity shapes, RSA and EC issuers, and the issuer name copied byte for
// byte from a CA made by another tool (Go clients such as Kyverno chain by comparing raw names).
import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { escapeRdn, ExtendedKeyUsage, generatePrivateKey, issueCertificate } from './certificates.js';

const now = Date.now();
const window = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) };

describe('issueCertificate', () => {
  for (const algorithm of ['rsa-2048', 'ecdsa-p256', 'ecdsa-p384'] as const) {
    it(`issues a CA and a serving certificate it signs (${algorithm})`, async () => {
      const caKey = await generatePrivateKey(algorithm);
      const caPem = await issueCertificate({ subject: 'CN=test CA', key: caKey, ...window, ca: true, keyUsages: ['keyCertSign', 'cRLSign'] });
      const ca = new X509Certificate(caPem);
      assert.equal(ca.ca, true);
      assert.equal(ca.subject, 'CN=test CA');
      assert.ok(ca.verify(ca.publicKey), 'self-signed');

      const leafKey = await generatePrivateKey('ecdsa-p256');
      const leafPem = await issueCertificate({
        subject: 'CN=svc',
        key: leafKey,
        issuer: { certPem: caPem, key: caKey },
        ...window,
        keyUsages: ['digitalSignature'],
        extendedKeyUsages: [ExtendedKeyUsage.serverAuth],
        dnsNames: ['svc', 'svc.ns.svc'],
        ips: ['127.0.0.1'],
      });
      const leaf = new X509Certificate(leafPem);
      assert.equal(leaf.ca, false);
      assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
      assert.ok(leaf.checkPrivateKey(leafKey));
      assert.equal(leaf.subjectAltName, 'IP Address:127.0.0.1, DNS:svc, DNS:svc.ns.svc');
      assert.deepEqual(leaf.keyUsage, [ExtendedKeyUsage.serverAuth]);
      assert.equal(new Date(leaf.validTo).getTime(), Math.floor(window.notAfter.getTime() / 1000) * 1000);
    });
  }

  it('copies the issuer name exactly as the CA encodes it, whatever tool made the CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pki-test-'));
    try {
      const caKey = await generatePrivateKey('rsa-2048');
      writeFileSync(join(dir, 'ca.key'), caKey.export({ format: 'pem', type: 'pkcs8' }));
      // openssl encodes names as UTF8String; @peculiar/x509 would pick other string types for a string name.
      const caPem = execFileSync('openssl', ['req', '-x509', '-key', join(dir, 'ca.key'), '-subj', '/CN=*.kyverno.svc/O=Example', '-days', '1'], {
        encoding: 'utf8',
      });
      const leafPem = await issueCertificate({
        subject: 'CN=svc',
        key: await generatePrivateKey('ecdsa-p256'),
        issuer: { certPem: caPem, key: caKey },
        ...window,
        keyUsages: ['digitalSignature'],
      });
      const raw = (name: x509.Name) => Buffer.from(name.toArrayBuffer()).toString('hex');
      assert.equal(raw(new x509.X509Certificate(leafPem).issuerName), raw(new x509.X509Certificate(caPem).subjectName));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escapes RFC 4514 special characters in names', () => {
    assert.equal(escapeRdn('system:masters'), 'system:masters');
    assert.equal(escapeRdn('a,b+c"d<e>f;g=h\\'), 'a\\,b\\+c\\"d\\<e\\>f\\;g\\=h\\\\');
    assert.equal(escapeRdn(' #x '), '\\ #x\\ ');
  });
});
