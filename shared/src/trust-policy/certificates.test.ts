import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { inspectTrustStore } from './certificates.js';
import { EXPIRED_CA, INTERMEDIATE_CA, LEAF, OTHER_CA, ROOT_CA, SELF_SIGNED_LEAF } from './testdata.js';

const NOW = new Date('2030-06-01T00:00:00Z');

function inspect(caBundle: string, type: 'ca' | 'signingAuthority' | 'tsa' = 'signingAuthority', now = NOW, trustStoreName = 'aws-signer-ts') {
  return inspectTrustStore({ trustStoreName, type, caBundle }, { now });
}

function messages(caBundle: string, type: 'ca' | 'signingAuthority' | 'tsa' = 'signingAuthority'): string[] {
  return inspect(caBundle, type).problems.map((p) => `${p.reason} ${p.path}: ${p.message}`);
}

describe('inspectTrustStore', () => {
  it('accepts CA and self-signed certificates, counts them and finds the earliest expiry', () => {
    const result = inspect(`# roots\n${ROOT_CA}\nsome text between blocks\n${INTERMEDIATE_CA}${SELF_SIGNED_LEAF}${OTHER_CA}`);
    assert.deepEqual(result.problems, []);
    assert.equal(result.certificateCount, 4);
    assert.equal(result.earliestExpiry, '2050-01-01T00:00:00Z');
  });

  it('normalises, de-duplicates and sorts the certificates, so the order in caBundle does not matter', () => {
    const crlf = ROOT_CA.replace(/\n/g, '\r\n');
    const a = inspect(`${ROOT_CA}${OTHER_CA}${ROOT_CA}`);
    const b = inspect(`${OTHER_CA}\n\n${crlf}`);
    assert.deepEqual(a.certificates, b.certificates);
    assert.equal(a.certificateCount, 2);
    for (const pem of a.certificates) {
      assert.match(pem, /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
      assert.ok(new X509Certificate(pem).ca);
    }
    assert.ok(a.certificates.some((pem) => new X509Certificate(pem).fingerprint256 === new X509Certificate(ROOT_CA).fingerprint256));
  });

  it('rejects a certificate that is neither CA nor self-signed (notation trust store rule)', () => {
    assert.deepEqual(messages(`${ROOT_CA}${LEAF}`), [
      'NotCACertificate spec.caBundle: certificate 2 (subject "CN=signing leaf, C=US, ST=WA, O=Test Signer") is neither a CA nor self-signed; notation trusts only CA or self-signed certificates, so put the root (or intermediate) CA here, not the signing certificate',
    ]);
  });

  it('accepts only root CAs in a tsa store', () => {
    assert.deepEqual(messages(ROOT_CA, 'tsa'), []);
    const found = messages(`${INTERMEDIATE_CA}${SELF_SIGNED_LEAF}`, 'tsa');
    assert.equal(found.length, 2);
    assert.match(
      found[0]!,
      /^NotCACertificate spec\.caBundle: certificate 1 \(subject "CN=Test Signer Intermediate CA, .*"\) is not a root CA certificate; a tsa trust store accepts only root certificates/,
    );
    assert.match(found[1]!, /^NotCACertificate spec\.caBundle: certificate 2 \(subject "CN=self-signed signing cert, .*"\) is not a root CA certificate/);
  });

  it('rejects an expired certificate, still counting it', () => {
    const result = inspect(`${ROOT_CA}${EXPIRED_CA}`);
    assert.deepEqual(
      result.problems.map((p) => [p.reason, p.message]),
      [
        [
          'CertificateExpired',
          'certificate 2 (subject "CN=Expired Root CA, C=US, ST=WA, O=Old") expired on 2001-01-01T00:00:00Z; remove it from caBundle or replace it with its renewed certificate',
        ],
      ],
    );
    assert.equal(result.earliestExpiry, '2001-01-01T00:00:00Z');
    assert.equal(inspect(OTHER_CA, 'ca', new Date('2050-01-01T00:00:00Z')).problems[0]?.reason, 'CertificateExpired');
    assert.deepEqual(inspect(OTHER_CA, 'ca', new Date('2049-12-31T23:59:59Z')).problems, []);
  });

  it('explains what is wrong with text that is not PEM certificates', () => {
    const body = ROOT_CA.split('\n').slice(1, -2).join('\n');
    const cases: [string, RegExp][] = [
      ['', /no PEM certificate found/],
      ['not a certificate', /no PEM certificate found/],
      [body, /no PEM certificate found/],
      [
        '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
        /PEM block 1 is a PRIVATE KEY; caBundle may contain only CERTIFICATE blocks; remove it now/,
      ],
      ['-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n', /PEM block 1 is not valid base64/],
      ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /PEM block 1 is not a valid X\.509 certificate/],
      ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n', /starts with BEGIN CERTIFICATE but ends with END X509 CRL/],
      [`${ROOT_CA.replace('-----END CERTIFICATE-----', '')}${OTHER_CA}`, /not valid base64/],
      [`${ROOT_CA}-----BEGIN CERTIFICATE-----\nAAAA`, /a PEM block has no matching END line/],
    ];
    for (const [caBundle, message] of cases) {
      const result = inspect(caBundle);
      assert.ok(result.problems.length > 0, caBundle);
      assert.ok(result.problems.every((p) => p.reason === 'InvalidCertificate' && p.path === 'spec.caBundle'));
      assert.match(result.problems.map((p) => p.message).join('\n'), message);
    }
  });

  it("checks the trust store name with notation's rule", () => {
    const result = inspect(ROOT_CA, 'signingAuthority', NOW, 'aws signer/ts');
    assert.deepEqual(
      result.problems.map((p) => [p.path, p.reason]),
      [['spec.trustStoreName', 'InvalidTrustStoreName']],
    );
  });
});
