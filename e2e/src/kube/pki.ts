// The PKI of a throwaway control plane: one CA that both signs the API server's serving certificate and
// authenticates clients (--client-ca-file), client certificates for users (the admin is in
// system:masters), and the service-account token signing key. The shape follows
// real-test-components.md §1.6, generated in-process instead of with openssl so that a start costs
// milliseconds and needs no tool. ECDSA P-256 throughout: key generation is instant (RSA-2048 takes
// tens of milliseconds per key on these machines) and Go's crypto/tls, kube-apiserver's
// --service-account-signing-key-file (ES256) and Node's TLS all accept it.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as Crypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface KeyPairPem {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

export interface ServingCertOptions {
  readonly ips: readonly string[];
  readonly dnsNames: readonly string[];
}

export interface ClientCertOptions {
  /** The user name the API server sees (subject CN). */
  readonly user: string;
  /** The groups it sees (subject O, one per group). */
  readonly groups?: readonly string[];
}

/** A certificate authority that can issue serving and client certificates. */
export interface ClusterCa {
  readonly certPem: string;
  /** PKCS#8 PEM, kept in the control plane's directory so other processes can issue client certificates. */
  readonly keyPem: string;
  issueServing(options: ServingCertOptions): Promise<KeyPairPem>;
  issueClient(options: ClientCertOptions): Promise<KeyPairPem>;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

function serialNumber(): string {
  // Positive 128-bit serial (a leading byte below 0x80 keeps the DER integer positive).
  return randomBytes(16).toString('hex').replace(/^[89a-f]/, '1');
}

// An RFC 4514 attribute value must escape these; group names such as "system:masters" need none, but
// a test may pass anything.
function escapeRdn(value: string): string {
  return value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
}

function clusterCa(caCert: x509.X509Certificate, caKey: CryptoKey, keyPem: string): ClusterCa {
  const now = Date.now();
  async function issue(subject: string, extensions: x509.Extension[]): Promise<KeyPairPem> {
    const leafKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject,
      issuer: caCert.subject,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 365 * DAY),
      signingAlgorithm: ALGORITHM,
      publicKey: leafKeys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ...extensions,
      ],
    });
    return { certPem: `${cert.toString('pem')}\n`, keyPem: await pkcs8Pem(leafKeys.privateKey) };
  }

  return {
    certPem: `${caCert.toString('pem')}\n`,
    keyPem,
    issueServing: (options) =>
      issue(`CN=${escapeRdn(options.dnsNames[0] ?? options.ips[0] ?? 'kube-apiserver')}`, [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...options.ips.map((value) => ({ type: 'ip' as const, value })),
          ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ]),
      ]),
    // The API server maps a client certificate's CN to the user name and each O to a group.
    issueClient: (options) =>
      issue([`CN=${escapeRdn(options.user)}`, ...(options.groups ?? []).map((g) => `O=${escapeRdn(g)}`)].join(', '), [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ]),
  };
}

/** Creates a CA valid from a day ago for ten years (test control planes are short-lived, clocks are not exact). */
export async function createClusterCa(name = 'kna-e2e-kube-ca'): Promise<ClusterCa> {
  const now = Date.now();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeRdn(name)}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return clusterCa(caCert, keys.privateKey, await pkcs8Pem(keys.privateKey));
}

/** The CA of a control plane started by another process (`harness kube up`), from its PEM files. */
export async function loadClusterCa(pem: KeyPairPem): Promise<ClusterCa> {
  const der = createPrivateKey(pem.keyPem).export({ format: 'der', type: 'pkcs8' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
  return clusterCa(new x509.X509Certificate(pem.certPem), key, pem.keyPem);
}

export interface ServiceAccountKey {
  /** PKCS#8 PEM, for --service-account-signing-key-file. */
  readonly privateKeyPem: string;
  /** SPKI PEM, for --service-account-key-file (the keys TokenReview trusts). */
  readonly publicKeyPem: string;
}

/** The key the API server signs service-account tokens with (ES256). */
export async function createServiceAccountKey(): Promise<ServiceAccountKey> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const privateKeyPem = await pkcs8Pem(keys.privateKey);
  const publicKeyPem = createPublicKey(privateKeyPem).export({ format: 'pem', type: 'spki' }).toString();
  return { privateKeyPem, publicKeyPem };
}
