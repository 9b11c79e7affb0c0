// Certificate chains for the fake AWS Signer: a P-384 root, an intermediate and a code-signing leaf,
// shaped the way notation requires for the notary.x509.signingAuthority scheme
// (notation-and-aws-signer.md §6.1: critical key usage, codeSigning EKU, CA flags on the issuers).
import 'reflect-metadata';
import { webcrypto, createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as Crypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface CertifiedKey {
  /** PEM of the certificate. */
  readonly certPem: string;
  /** DER of the certificate. */
  readonly certDer: Buffer;
  /** The private key, for signing. */
  readonly key: KeyObject;
  /** PEM (PKCS#8) of the private key, so a chain can be persisted and reloaded. */
  readonly keyPem: string;
  /** The issuer-side handle used to sign certificates below this one. */
  readonly signer: { cert: x509.X509Certificate; keys: CryptoKeyPair };
}

export interface SigningChain {
  readonly root: CertifiedKey;
  readonly intermediate: CertifiedKey;
  readonly leaf: CertifiedKey;
}

interface IssueOptions {
  readonly subject: string;
  readonly issuer?: CertifiedKey['signer'];
  readonly ca: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

async function issue(options: IssueOptions): Promise<CertifiedKey> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = options.ca
    ? [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ]
    : [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([CODE_SIGNING], false),
      ];
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (options.issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(options.issuer.cert));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    subject: options.subject,
    issuer: options.issuer ? options.issuer.cert.subject : options.subject,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: options.issuer ? options.issuer.keys.privateKey : keys.privateKey,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return {
    certPem: cert.toString('pem') + '\n',
    certDer: Buffer.from(cert.rawData),
    key,
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    signer: { cert, keys },
  };
}

export interface ChainOptions {
  /** Distinguishes the chains of several fake signers (for the untrusted-root tests). */
  readonly name?: string;
  /** The instant the chain must be valid at; defaults to now. */
  readonly now?: Date;
}

/** Creates a fresh root → intermediate → leaf chain, valid for a year around `now`. */
export async function createSigningChain(options: ChainOptions = {}): Promise<SigningChain> {
  const name = options.name ?? 'Harness';
  const now = options.now?.getTime() ?? Date.now();
  const root = await issue({
    subject: `CN=${name} AWS Signer Root,O=kyverno-notation-aws harness,ST=WA,C=US`,
    ca: true,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
  });
  const intermediate = await issue({
    subject: `CN=${name} AWS Signer Intermediate,O=kyverno-notation-aws harness,ST=WA,C=US`,
    issuer: root.signer,
    ca: true,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 1825 * DAY),
  });
  const leaf = await issue({
    subject: `CN=${name} AWS Signer,O=kyverno-notation-aws harness,ST=WA,C=US`,
    issuer: intermediate.signer,
    ca: false,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 365 * DAY),
  });
  return { root, intermediate, leaf };
}
