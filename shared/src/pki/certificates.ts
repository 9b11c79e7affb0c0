// X.509 certificate issuance, the one place the product and its tests make certificates: the operator's
// CA and serving certificate, the test control plane's CA, serving and client certificates. Built on
// @peculiar/x509 (no hand-rolled ASN.1); keys are Node KeyObjects so callers can export them in any
// encoding (PKCS#1 for the original service's Secrets, PKCS#8 elsewhere).
import 'reflect-metadata';
import { createPublicKey, generateKeyPair, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as Crypto);

const generate = promisify(generateKeyPair);

export type KeyAlgorithm = 'rsa-2048' | 'ecdsa-p256' | 'ecdsa-p384';

/** A new private key (generated off the main thread). */
export async function generatePrivateKey(algorithm: KeyAlgorithm): Promise<KeyObject> {
  if (algorithm === 'rsa-2048') return (await generate('rsa', { modulusLength: 2048 })).privateKey;
  return (await generate('ec', { namedCurve: algorithm === 'ecdsa-p256' ? 'P-256' : 'P-384' })).privateKey;
}

/** Positive 128-bit serial (a leading byte below 0x80 keeps the DER integer positive). */
export function serialNumber(): string {
  return randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

/** Escapes an RFC 4514 attribute value (user and group names may hold anything). */
export function escapeRdn(value: string): string {
  return value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
}

interface WebAlgorithms {
  readonly importParams: RsaHashedImportParams | EcKeyImportParams;
  readonly signature: RsaHashedImportParams | EcdsaParams;
}

function webAlgorithms(key: KeyObject): WebAlgorithms {
  if (key.asymmetricKeyType === 'rsa') {
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importParams: rsa, signature: rsa };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [namedCurve, hash] = curve === 'secp384r1' ? ['P-384', 'SHA-384'] : curve === 'secp521r1' ? ['P-521', 'SHA-512'] : ['P-256', 'SHA-256'];
    return { importParams: { name: 'ECDSA', namedCurve }, signature: { name: 'ECDSA', hash } };
  }
  throw new Error(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (RSA or EC keys only)`);
}

async function cryptoKeys(privateKey: KeyObject): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; signature: WebAlgorithms['signature'] }> {
  const { importParams, signature } = webAlgorithms(privateKey);
  return {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ format: 'der', type: 'pkcs8' }), importParams, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', createPublicKey(privateKey).export({ format: 'der', type: 'spki' }), importParams, true, ['verify']),
    signature,
  };
}

export type KeyUsage = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign';

export const ExtendedKeyUsage = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
} as const;

export interface CertificateRequest {
  /** RFC 4514 distinguished name, e.g. "CN=svc, O=group". */
  readonly subject: string;
  /** The key the certificate is for. */
  readonly key: KeyObject;
  /** Who signs it; absent: self-signed with `key`. */
  readonly issuer?: { readonly certPem: string; readonly key: KeyObject };
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA certificate (basicConstraints cA, subject key identifier); otherwise an end-entity one. */
  readonly ca?: boolean;
  readonly keyUsages: readonly KeyUsage[];
  /** OIDs (ExtendedKeyUsage); none: no extension. */
  readonly extendedKeyUsages?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
}

/** Issues a certificate and returns its PEM (with a trailing newline). */
export async function issueCertificate(request: CertificateRequest): Promise<string> {
  const subjectKeys = await cryptoKeys(request.key);
  const issuerKeys = request.issuer ? await cryptoKeys(request.issuer.key) : subjectKeys;
  const issuerCert = request.issuer && new x509.X509Certificate(request.issuer.certPem);
  const usages = request.keyUsages.reduce<number>((flags, usage) => flags | x509.KeyUsageFlags[usage], 0);
  const names = [
    ...(request.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(request.ca === true, undefined, true),
    // A bit set of the enum's flags: the library takes the combined number.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
    new x509.KeyUsagesExtension(usages, true),
    ...(request.extendedKeyUsages?.length ? [new x509.ExtendedKeyUsageExtension([...request.extendedKeyUsages])] : []),
    ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    await x509.SubjectKeyIdentifierExtension.create(subjectKeys.publicKey),
    ...(issuerCert ? [await x509.AuthorityKeyIdentifierExtension.create(issuerCert)] : []),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: request.subject,
    // The issuer's name exactly as encoded in its certificate: Go (Kyverno) chains by comparing the raw
    // bytes, and re-encoding a name from its string form can change its string types.
    issuer: issuerCert ? issuerCert.subjectName : request.subject,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    signingAlgorithm: issuerKeys.signature,
    publicKey: subjectKeys.publicKey,
    signingKey: issuerKeys.privateKey,
    extensions,
  });
  return `${cert.toString('pem')}\n`;
}
