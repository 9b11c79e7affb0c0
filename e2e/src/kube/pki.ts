// The PKI of a throwaway control plane: one CA that both signs the API server's serving certificate and
// authenticates clients (--client-ca-file), client certificates for users (the admin is in
// system:masters), and the service-account token signing key. The shape follows
// README "Test components", generated in-process instead of with openssl so that a start costs
// milliseconds and needs no tool. ECDSA P-256 throughout: key generation is instant (RSA-2048 takes
// tens of milliseconds per key on these machines) and Go's crypto/tls, kube-apiserver's
// --service-account-signing-key-file (ES256) and Node's TLS all accept it.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { escapeRdn, ExtendedKeyUsage, generatePrivateKey, issueCertificate } from '@kna/shared';

const DAY = 86_400_000;

export interface KeyPairPem {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

interface ServingCertOptions {
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

function pkcs8Pem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function clusterCa(caCertPem: string, caKey: KeyObject): ClusterCa {
  const now = Date.now();
  async function issue(subject: string, extras: { extendedKeyUsages: string[]; dnsNames?: readonly string[]; ips?: readonly string[] }): Promise<KeyPairPem> {
    const key = await generatePrivateKey('ecdsa-p256');
    const certPem = await issueCertificate({
      subject,
      key,
      issuer: { certPem: caCertPem, key: caKey },
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 365 * DAY),
      keyUsages: ['digitalSignature'],
      ...extras,
    });
    return { certPem, keyPem: pkcs8Pem(key) };
  }

  return {
    certPem: caCertPem,
    keyPem: pkcs8Pem(caKey),
    issueServing: (options) =>
      issue(`CN=${escapeRdn(options.dnsNames[0] ?? options.ips[0] ?? 'kube-apiserver')}`, {
        extendedKeyUsages: [ExtendedKeyUsage.serverAuth],
        ips: options.ips,
        dnsNames: options.dnsNames,
      }),
    // The API server maps a client certificate's CN to the user name and each O to a group.
    issueClient: (options) =>
      issue([`CN=${escapeRdn(options.user)}`, ...(options.groups ?? []).map((g) => `O=${escapeRdn(g)}`)].join(', '), {
        extendedKeyUsages: [ExtendedKeyUsage.clientAuth],
      }),
  };
}

/** Creates a CA valid from a day ago for ten years (test control planes are short-lived, clocks are not exact). */
export async function createClusterCa(name = 'kna-e2e-kube-ca'): Promise<ClusterCa> {
  const now = Date.now();
  const key = await generatePrivateKey('ecdsa-p256');
  const certPem = await issueCertificate({
    subject: `CN=${escapeRdn(name)}`,
    key,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    ca: true,
    keyUsages: ['keyCertSign', 'cRLSign'],
  });
  return clusterCa(certPem, key);
}

/** The CA of a control plane started by another process (`harness kube up`), from its PEM files. */
export function loadClusterCa(pem: KeyPairPem): Promise<ClusterCa> {
  return Promise.resolve(clusterCa(pem.certPem, createPrivateKey(pem.keyPem)));
}

export interface ServiceAccountKey {
  /** PKCS#8 PEM, for --service-account-signing-key-file. */
  readonly privateKeyPem: string;
  /** SPKI PEM, for --service-account-key-file (the keys TokenReview trusts). */
  readonly publicKeyPem: string;
}

/** The key the API server signs service-account tokens with (ES256). */
export async function createServiceAccountKey(): Promise<ServiceAccountKey> {
  const key = await generatePrivateKey('ecdsa-p256');
  const privateKeyPem = pkcs8Pem(key);
  const publicKeyPem = createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
  return { privateKeyPem, publicKeyPem };
}
