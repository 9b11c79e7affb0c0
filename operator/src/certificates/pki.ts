// Certificates of the verifier's CA and serving pair: generation (with @kna/shared issueCertificate)
// and parsing and checks (with Node's X509Certificate).
//
// Keys are RSA-2048 and written as PKCS#1 ("RSA PRIVATE KEY"), like the certificate manager of the
// original service, which parses its CA key as PKCS#1 whatever the PEM header says: a cluster that goes
// back to the original keeps working with the Secrets this operator wrote. Reading accepts PKCS#1,
// PKCS#8, SEC1 and the original's PKCS#1-under-a-"PRIVATE KEY"-header quirk (parsePrivateKey).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { escapeRdn, ExtendedKeyUsage, generatePrivateKey, issueCertificate, parsePrivateKey } from '@kna/shared';

const HOUR = 3_600_000;

/**
 * How far notBefore is set back from the moment of issuance, so that a client whose clock is a little
 * behind still accepts a fresh certificate: an hour (what the original did), or a twelfth of the
 * validity for the second-scale validities of tests. `issuedAt` inverts it exactly.
 */
function backdateMs(validityMs: number): number {
  return Math.min(HOUR, validityMs / 12);
}

/**
 * When a certificate was issued, from its validity window. For a certificate issued here the life is
 * validity + validity/12 (or validity + 1 h), so life/13 (or 1 h) is exactly the backdate; for the
 * original's (notBefore = now − 1 h, a year or 150 days of validity) it is the hour.
 */
export function issuedAt(notBefore: Date, notAfter: Date): Date {
  const life = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + Math.min(HOUR, life / 13));
}

/** A parsed certificate with what the planner needs to know about it. */
export interface ParsedCertificate {
  readonly pem: string;
  readonly x509: X509Certificate;
  /** SHA-256 fingerprint, the certificate's identity in plans and logs. */
  readonly id: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle that parses; what does not parse is skipped (and reported by the caller). */
export function parseCertificates(pem: string): { certificates: ParsedCertificate[]; unparsable: number } {
  const certificates: ParsedCertificate[] = [];
  let unparsable = 0;
  for (const block of pem.match(PEM_CERTIFICATE) ?? []) {
    try {
      const cert = new X509Certificate(block);
      certificates.push({
        pem: `${block}\n`,
        x509: cert,
        id: cert.fingerprint256,
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
        isCa: cert.ca,
        dnsNames: (cert.subjectAltName ?? '')
          .split(/,\s*/)
          .filter((s) => s.startsWith('DNS:'))
          .map((s) => s.slice(4)),
        ips: (cert.subjectAltName ?? '')
          .split(/,\s*/)
          .filter((s) => s.startsWith('IP Address:'))
          .map((s) => s.slice('IP Address:'.length)),
      });
    } catch {
      unparsable++;
    }
  }
  return { certificates, unparsable };
}

/** The key, if the PEM holds one that parses (in any of the accepted encodings). */
export function tryParsePrivateKey(pem: string | undefined): KeyObject | undefined {
  if (pem === undefined || pem.trim() === '') return undefined;
  try {
    return parsePrivateKey(pem);
  } catch {
    return undefined;
  }
}

/** Whether `issuer` signed `cert` (names and signature). */
export function issuedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  try {
    return cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

export function keyMatches(cert: ParsedCertificate, key: KeyObject): boolean {
  try {
    return cert.x509.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** A certificate with its private key, ready to sign with or to store. */
export interface KeyedCertificate {
  readonly cert: ParsedCertificate;
  readonly key: KeyObject;
}

export function pkcs1Pem(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return key.export({ format: 'pem', type: 'pkcs1' }).toString();
  // An adopted non-RSA key (an EC key from another issuer) stays in PKCS#8.
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function parsed(pem: string): ParsedCertificate {
  const [first] = parseCertificates(pem).certificates;
  if (!first) throw new Error('a generated certificate did not parse');
  return first;
}

/** A self-signed CA valid for `validityMs` from `now` (backdated, see backdateMs). */
export async function createCa(options: { commonName: string; now: Date; validityMs: number }): Promise<KeyedCertificate> {
  const key = await generatePrivateKey('rsa-2048');
  const pem = await issueCertificate({
    subject: `CN=${escapeRdn(options.commonName)}`,
    key,
    notBefore: new Date(options.now.getTime() - backdateMs(options.validityMs)),
    notAfter: new Date(options.now.getTime() + options.validityMs),
    ca: true,
    keyUsages: ['keyCertSign', 'cRLSign', 'digitalSignature'],
  });
  return { cert: parsed(pem), key };
}

/**
 * A serving certificate for `dnsNames` signed by `ca`, valid for `validityMs` from `now` but never past
 * the CA's own notAfter (a leaf that outlives its issuer is useless and would hide the need to renew).
 */
export async function issueServingCertificate(options: {
  ca: KeyedCertificate;
  dnsNames: readonly string[];
  ips?: readonly string[];
  now: Date;
  validityMs: number;
}): Promise<KeyedCertificate> {
  const key = await generatePrivateKey('rsa-2048');
  const pem = await issueCertificate({
    subject: `CN=${escapeRdn(options.dnsNames[0] ?? 'svc')}`,
    key,
    issuer: { certPem: options.ca.cert.pem, key: options.ca.key },
    notBefore: new Date(options.now.getTime() - backdateMs(options.validityMs)),
    notAfter: new Date(Math.min(options.now.getTime() + options.validityMs, options.ca.cert.notAfter.getTime())),
    keyUsages: ['digitalSignature', 'keyEncipherment'],
    extendedKeyUsages: [ExtendedKeyUsage.serverAuth],
    dnsNames: options.dnsNames,
    ...(options.ips && options.ips.length > 0 && { ips: options.ips }),
  });
  return { cert: parsed(pem), key };
}
