// The certificate rotator on the real API server: what it creates, that a second reconcile writes
// nothing, that the original's Secrets are adopted as they are, that two writers converge through
// optimistic concurrency, and a whole rollover driven through reconcile(now) with a simulated clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parsePrivateKey } from '@kna/shared';
import { useTestControlPlane, withNamespace } from '@kna/e2e';
import { CertificateRotator, certificateSecretNames, PUBLISHED_AT_ANNOTATION, type CertificateOptions } from './rotator.js';
import { createCa, issueServingCertificate, parseCertificates } from './pki.js';

const kube = useTestControlPlane({ shared: true });
const log = pino({ level: 'silent' });
const S = 1000;
const DAY = 86_400 * S;

function options(namespace: string, overrides: Partial<CertificateOptions> = {}): CertificateOptions {
  return { namespace, serviceName: 'svc', caConfigMapName: 'kna-ca', caValidityMs: 365 * DAY, certValidityMs: 150 * DAY, ...overrides };
}

const text = (secret: V1Secret, key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');

async function readAll(core: CoreV1Api, namespace: string) {
  const names = certificateSecretNames('svc', namespace);
  const [ca, pair, cm] = await Promise.all([
    core.readNamespacedSecret({ namespace, name: names.ca }),
    core.readNamespacedSecret({ namespace, name: names.pair }),
    core.readNamespacedConfigMap({ namespace, name: 'kna-ca' }),
  ]);
  const bundle = parseCertificates(cm.data?.['ca.crt'] ?? '').certificates;
  const leaf = new X509Certificate(text(pair, 'tls.crt'));
  const leafIssuer = bundle.find((c) => leaf.checkIssued(c.x509) && leaf.verify(c.x509.publicKey));
  const versions = [ca, pair, cm].map((o) => o.metadata?.resourceVersion).join();
  return { ca, pair, cm, bundle, leaf, leafIssuer, versions };
}

describe('certificate rotator', () => {
  it('creates the CA Secret, the serving pair and the CA ConfigMap, then leaves them alone', () =>
    withNamespace(kube(), async (namespace) => {
      const core = kube().kubeConfig().makeApiClient(CoreV1Api);
      const rotator = new CertificateRotator(core, options(namespace), log);
      const now = new Date();
      const state = await rotator.reconcile(now);
      const got = await readAll(core, namespace);

      for (const secret of [got.ca, got.pair]) {
        assert.equal(secret.type, 'kubernetes.io/tls');
        assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['tls.crt', 'tls.key']);
      }
      assert.equal(got.bundle.length, 1);
      assert.equal(state.caBundlePem, got.cm.data?.['ca.crt']);
      assert.equal(text(got.ca, 'tls.crt'), got.cm.data?.['ca.crt']);
      assert.match(text(got.ca, 'tls.key'), /^-----BEGIN RSA PRIVATE KEY-----/, 'PKCS#1, as the original reads CA keys');
      assert.ok(got.leafIssuer, 'the leaf verifies with the published CA');
      assert.ok(got.leaf.checkPrivateKey(parsePrivateKey(text(got.pair, 'tls.key'))));
      assert.deepEqual(got.leaf.subjectAltName?.split(', '), [
        'DNS:svc',
        `DNS:svc.${namespace}`,
        `DNS:svc.${namespace}.svc`,
        `DNS:svc.${namespace}.svc.cluster.local`,
      ]);
      assert.equal(got.leaf.ca, false);
      assert.deepEqual(got.leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth');
      const published = JSON.parse(got.cm.metadata?.annotations?.[PUBLISHED_AT_ANNOTATION] ?? '{}') as Record<string, string>;
      assert.deepEqual(Object.keys(published), [got.bundle[0]?.id]);

      // Validities: the CA a year, the leaf 150 days (backdated by an hour for clock skew).
      assert.equal(new Date(got.leaf.validTo).getTime(), Math.floor((now.getTime() + 150 * DAY) / S) * S);
      assert.deepEqual(
        state.secrets.map((s) => s.name),
        [`svc.${namespace}.svc.tls-ca`, `svc.${namespace}.svc.tls-pair`],
      );
      assert.ok(state.nextCheckAt.getTime() > now.getTime() && state.nextCheckAt.getTime() <= now.getTime() + 3_600_000);

      // Level-based: nothing is due, nothing is written.
      await rotator.reconcile(new Date(now.getTime() + 60 * S));
      assert.equal((await readAll(core, namespace)).versions, got.versions);
    }));

  it("adopts the original's Secrets as they are (PKCS#1 under a PRIVATE KEY header) and only publishes the CA", () =>
    withNamespace(kube(), async (namespace) => {
      const core = kube().kubeConfig().makeApiClient(CoreV1Api);
      const now = new Date();
      // What the original's certificate manager wrote: a year-long CA, a 150-day leaf for the Service's
      // names (not .cluster.local), both backdated an hour, keys PKCS#1 mislabelled as PKCS#8.
      const ca = await createCa({ commonName: '*.kyverno.svc', now, validityMs: 365 * DAY });
      const leaf = await issueServingCertificate({ ca, dnsNames: ['svc', `svc.${namespace}`, `svc.${namespace}.svc`, 'svc.svc'], now, validityMs: 150 * DAY });
      const quirk = (pem: string) => pem.replaceAll('RSA PRIVATE KEY', 'PRIVATE KEY');
      const pkcs1 = (k: typeof ca.key) => quirk(k.export({ format: 'pem', type: 'pkcs1' }).toString());
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const names = certificateSecretNames('svc', namespace);
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: names.ca }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(ca.cert.pem), 'tls.key': b64(pkcs1(ca.key)) } },
      });
      // The original could leave a Secret of another type behind; it is re-created with its content.
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: names.pair }, type: 'Opaque', data: { 'tls.crt': b64(leaf.cert.pem), 'tls.key': b64(pkcs1(leaf.key)) } },
      });
      const caBefore = await core.readNamespacedSecret({ namespace, name: names.ca });

      const state = await new CertificateRotator(core, options(namespace), log).reconcile(new Date(now.getTime() + DAY));
      const got = await readAll(core, namespace);
      assert.equal(got.ca.metadata?.resourceVersion, caBefore.metadata?.resourceVersion, 'the CA Secret is not rewritten');
      assert.equal(got.pair.type, 'kubernetes.io/tls');
      assert.equal(text(got.pair, 'tls.crt'), leaf.cert.pem, 'the leaf is adopted, not re-issued');
      assert.equal(text(got.pair, 'tls.key'), pkcs1(leaf.key), 'byte for byte');
      assert.equal(state.caBundlePem, ca.cert.pem);
      assert.deepEqual(
        got.bundle.map((c) => c.id),
        [ca.cert.id],
      );
    }));

  it('converges to one CA and one leaf when two rotators race on an empty namespace (409 → re-read)', () =>
    withNamespace(kube(), async (namespace) => {
      const core = kube().kubeConfig().makeApiClient(CoreV1Api);
      const now = new Date();
      const [a, b] = await Promise.all([
        new CertificateRotator(core, options(namespace), log).reconcile(now),
        new CertificateRotator(kube().kubeConfig().makeApiClient(CoreV1Api), options(namespace), log).reconcile(now),
      ]);
      const got = await readAll(core, namespace);
      assert.equal(got.bundle.length, 1, 'one CA');
      assert.ok(got.leafIssuer, 'the stored leaf verifies with the stored CA');
      assert.equal(a.caBundlePem, got.cm.data?.['ca.crt']);
      assert.equal(b.caBundlePem, got.cm.data?.['ca.crt']);
    }));

  it('rolls over on a simulated clock: old and new CA published together, the leaf moves only once the new CA has propagated, the old CA goes at expiry', () =>
    withNamespace(kube(), async (namespace) => {
      const core = kube().kubeConfig().makeApiClient(CoreV1Api);
      const rotator = new CertificateRotator(core, options(namespace, { caValidityMs: 60 * S, certValidityMs: 15 * S }), log);
      const t0 = Math.floor(Date.now() / S) * S;
      const seen: { t: number; cas: number; issuer: string | undefined; keys: string[]; leaf: string }[] = [];
      // Reconcile at every time it asks for (X.509 dates have whole seconds; so does this clock).
      for (let t = t0; t <= t0 + 75 * S;) {
        const state = await rotator.reconcile(new Date(t));
        const got = await readAll(core, namespace);
        assert.equal(state.caBundlePem, got.cm.data?.['ca.crt']);
        assert.ok(got.leafIssuer, `at +${(t - t0) / S}s the leaf verifies with the published bundle`);
        seen.push({
          t: (t - t0) / S,
          cas: got.bundle.length,
          issuer: got.leafIssuer.id,
          keys: Object.keys(got.ca.data ?? {}).sort(),
          leaf: got.leaf.serialNumber,
        });
        t = Math.ceil(state.nextCheckAt.getTime() / S) * S;
      }
      const at = (s: number) => seen.filter((e) => e.t <= s).at(-1);
      const first = at(0);
      assert.ok(first);
      // 0–40 s: one CA, leaves renewed every 10 s.
      assert.equal(at(39)?.cas, 1);
      assert.equal(new Set(seen.filter((e) => e.t < 40).map((e) => e.leaf)).size, 4);
      // 40 s: a second CA, published; the leaf still from the first, whose key is kept for it.
      assert.equal(at(40)?.cas, 2);
      assert.equal(at(40)?.issuer, first.issuer);
      assert.deepEqual(at(40)?.keys, ['tls.crt', 'tls.key', 'tls.previous.key']);
      // 50 s: the new CA has been published for 60/6 s: the leaf moves to it; the old key goes.
      assert.notEqual(at(50)?.issuer, first.issuer);
      assert.equal(at(49)?.issuer, first.issuer);
      assert.deepEqual(at(50)?.keys, ['tls.crt', 'tls.key']);
      // 60 s: the old CA expired and left the bundle.
      assert.equal(at(59)?.cas, 2);
      assert.equal(at(60)?.cas, 1);
    }));
});
