// Certificate chains for the fake AWS Signer: a P-384 root, an intermediate and a code-signing leaf,
// shaped the way notation requires for the notary.x509.signingAuthority scheme
// (notation's specification: critical key usage, codeSigning EKU, CA flags on the issuers).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { ExtendedKeyUsage, generatePrivateKey, issueCertificate } from '@kna/shared';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface CertifiedKey {
  /** PEM of the certificate. */
  readonly certPem: string;
  /** DER of the certificate. */
  readonly certDer: Buffer;
  /** The private key, for signing. */
  readonly key: KeyObject;
  /** PEM (PKCS#8) of the private key, so a chain can be persisted and reloaded. */
  readonly keyPem: string;
}

export interface SigningChain {
  readonly root: CertifiedKey;
  readonly intermediate: CertifiedKey;
  readonly leaf: CertifiedKey;
}

interface IssueOptions {
  readonly subject: string;
  readonly issuer?: CertifiedKey;
  readonly ca: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

async function issue(options: IssueOptions): Promise<CertifiedKey> {
  const key = await generatePrivateKey('ecdsa-p384');
  const certPem = await issueCertificate({
    subject: options.subject,
    key,
    ...(options.issuer && { issuer: { certPem: options.issuer.certPem, key: options.issuer.key } }),
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    ca: options.ca,
    keyUsages: options.ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature'],
    ...(!options.ca && { extendedKeyUsages: [ExtendedKeyUsage.codeSigning] }),
  });
  return {
    certPem,
    certDer: Buffer.from(new X509Certificate(certPem).raw),
    key,
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
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
    issuer: root,
    ca: true,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 1825 * DAY),
  });
  const leaf = await issue({
    subject: `CN=${name} AWS Signer,O=kyverno-notation-aws harness,ST=WA,C=US`,
    issuer: intermediate,
    ca: false,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 365 * DAY),
  });
  return { root, intermediate, leaf };
}
