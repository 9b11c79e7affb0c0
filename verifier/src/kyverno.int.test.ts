// The product end to end: kubectl → kube-apiserver → Kyverno's real admission controller (the sample
// ClusterPolicy: apiCall.service POST /checkimages + JSON-patch mutation) → this verifier in cluster
// mode (HTTPS, bundle directory, TokenReview of Kyverno's scoped token) → real notation with the AWS
// Signer plugin against the signing harness's registry. Covers: signed pod admitted and pinned,
// unsigned rejected with the verifier's reason, init and multi-container pods, per-namespace trust
// policies (`tp-{{request.namespace}}`), the sample's SBOM attestation conditions, the verifier down
// with failurePolicy Fail, and a trust policy edit reaching admission without a restart.
//
// Until the operator runs here, the test does its two jobs itself: it issues the verifier's serving
// pair from a CA of its own, and renders the bundle with the operator's render function into the
// directory the verifier reads (--bundleDir), as the kubelet would mount the bundle ConfigMap.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { parseManifests, renderBundle } from '@kna/shared';
import {
  KYVERNO_APICALL_AUDIENCE,
  SAMPLE_ATTESTATION,
  attach,
  checkImagesPolicy,
  createClusterCa,
  eventually,
  freePort,
  push,
  sign,
  startHarness,
  startKyverno,
  useTestControlPlane,
  type Harness,
  type RunningKyverno,
} from '@kna/e2e';
import { parseFlags } from './config/flags.js';
import { startVerifier, type RunningVerifier } from './app.js';
import { BUNDLE_FILE } from './bundle/sources.js';
import { pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest, verifierEnv } from './testing/localVerifier.js';

const kube = useTestControlPlane();

describe('Kyverno → verifier', () => {
  let harness: Harness | undefined;
  let kyverno: RunningKyverno | undefined;
  let verifier: RunningVerifier | undefined;
  let dir = '';
  let port = 0;
  const trusted = `trusted-${randomUUID().slice(0, 6)}`;
  const untrusted = `untrusted-${randomUUID().slice(0, 6)}`;
  const attested = `attested-${randomUUID().slice(0, 6)}`;

  const otherProfile = () => h().profileArn.replace(/HarnessProfile$/, 'OtherProfile');
  const h = () => {
    assert.ok(harness, 'the signing harness did not start');
    return harness;
  };

  /** Renders the trust policies into bundle.json, replaced atomically as the kubelet swaps a ConfigMap volume. */
  function writeBundle(identities: { trusted: readonly string[] }): void {
    const manifests = [
      trustStoreManifest('harness-root', readFileSync(h().rootCert, 'utf8')),
      trustPolicyManifest(`tp-${trusted}`, { scopes: ['*'], identities: [...identities.trusted] }),
      trustPolicyManifest(`tp-${untrusted}`, { scopes: ['*'], identities: [otherProfile()] }),
      trustPolicyManifest(`tp-${attested}`, { scopes: ['*'], identities: [h().profileArn] }),
      pluginConfigMapManifest(h().pluginConfig),
    ].join('---\n');
    const parsed = parseManifests(manifests, 'kyverno.int.test');
    const pluginConfig = parsed.configMaps[0]?.data ?? {};
    const rendered = renderBundle({ trustPolicies: parsed.trustPolicies, trustStores: parsed.trustStores, pluginConfig });
    for (const status of rendered.statuses) assert.equal(status.ready, true, JSON.stringify(status));
    const bundleDir = join(dir, 'bundle');
    mkdirSync(bundleDir, { recursive: true });
    writeFileSync(join(bundleDir, `.${BUNDLE_FILE}.tmp`), rendered.text);
    renameSync(join(bundleDir, `.${BUNDLE_FILE}.tmp`), join(bundleDir, BUNDLE_FILE));
  }

  async function startClusterVerifier(): Promise<RunningVerifier> {
    const { flags } = parseFlags([
      `--bundleDir=${join(dir, 'bundle')}`,
      `--tlsCertFile=${join(dir, 'tls', 'tls.crt')}`,
      `--tlsKeyFile=${join(dir, 'tls', 'tls.key')}`,
      `--httpsPort=${port}`,
      '--bindAddress=127.0.0.1',
      `--kubeconfig=${kube().kubeconfig}`,
      `--tokenReviewAudiences=${KYVERNO_APICALL_AUDIENCE}`,
      `--workDir=${join(dir, 'work')}`,
      '--health-probe-bind-address=0',
      '--metrics-bind-address=0',
    ]);
    return startVerifier({ flags, env: verifierEnv(h()), logger: pino({ level: 'silent' }) });
  }

  before(async () => {
    harness = await startHarness();
    dir = join(harness.dir, 'kyverno-e2e');
    mkdirSync(join(dir, 'tls'), { recursive: true });
    kyverno = await startKyverno(kube());

    const ca = await createClusterCa('kna-e2e-verifier-ca');
    const serving = await ca.issueServing({ ips: ['127.0.0.1'], dnsNames: ['kyverno-notation-aws.kyverno-notation-aws.svc'] });
    writeFileSync(join(dir, 'tls', 'tls.crt'), serving.certPem);
    writeFileSync(join(dir, 'tls', 'tls.key'), serving.keyPem, { mode: 0o600 });
    writeBundle({ trusted: [harness.profileArn] });
    port = await freePort();
    verifier = await startClusterVerifier();

    for (const ns of [trusted, untrusted]) await kube().kubectl(['create', 'namespace', ns]);
    const policy = checkImagesPolicy({
      namespaces: [trusted, untrusted],
      url: `https://127.0.0.1:${port}/checkimages`,
      ca: { caBundle: ca.certPem },
      imageReferences: [`${harness.registry}/*`],
    });
    // The sample's attestation check, in a policy of its own for one namespace.
    const attestations = checkImagesPolicy({
      name: 'check-images-attestations',
      namespaces: [attested],
      url: `https://127.0.0.1:${port}/checkimages`,
      ca: { caBundle: ca.certPem },
      imageReferences: [`${harness.registry}/*`],
      attestations: [SAMPLE_ATTESTATION],
    });
    await kube().kubectl(['create', 'namespace', attested]);
    await kube().kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [policy, attestations] }) });
    await kube().kubectl(['wait', '--for=condition=Ready', '--timeout=120s', 'clusterpolicy/check-images', 'clusterpolicy/check-images-attestations'], {
      timeoutMs: 130_000,
    });
  });

  after(async () => {
    await kyverno?.stop();
    await verifier?.close();
    await harness?.stop();
  });

  async function image(signed: boolean): Promise<{ ref: string; pinned: string }> {
    const repo = `${h().registry}/kyverno/${randomUUID().slice(0, 8)}`;
    const { digest } = await push(`${repo}:v1`);
    if (signed) await sign(h(), `${repo}@${digest}`);
    return { ref: `${repo}:v1`, pinned: `${repo}@${digest}` };
  }

  function pod(namespace: string, name: string, containers: Record<string, string>, init: Record<string, string> = {}): string {
    const list = (images: Record<string, string>) => Object.entries(images).map(([n, i]) => ({ name: n, image: i }));
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: { containers: list(containers), ...(Object.keys(init).length > 0 && { initContainers: list(init) }) },
    });
  }

  const create = (manifest: string) => kube().kubectl(['apply', '-f', '-'], { input: manifest, allowFailure: true, timeoutMs: 90_000 });
  const images = async (namespace: string, name: string) =>
    (await kube().kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.spec.initContainers[*].image} {.spec.containers[*].image}'])).stdout.trim();

  it('admits a pod with a signed image and stores it pinned to the digest', async () => {
    const { ref, pinned } = await image(true);
    const res = await create(pod(trusted, 'signed', { app: ref }));
    assert.equal(res.status, 0, res.stderr);
    assert.equal(await images(trusted, 'signed'), pinned);
  });

  it("rejects a pod with an unsigned image, with the verifier's reason in kubectl's error", async (t) => {
    const { ref } = await image(false);
    const res = await create(pod(trusted, 'unsigned', { app: ref }));
    t.diagnostic(`kubectl: ${res.stderr.trim()}`);
    assert.notEqual(res.status, 0, 'the unsigned pod was admitted');
    assert.match(res.stderr, /406/);
    assert.ok(res.stderr.includes(`container "app" image ${ref}`), res.stderr);
  });

  it('pins init containers and every container of a multi-container pod, and rejects the pod when one is unsigned', async () => {
    const [a, b, init, unsigned] = await Promise.all([image(true), image(true), image(true), image(false)]);
    const ok = await create(pod(trusted, 'multi', { a: a.ref, b: b.ref }, { init: init.ref }));
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(await images(trusted, 'multi'), `${init.pinned} ${a.pinned} ${b.pinned}`);

    const bad = await create(pod(trusted, 'multi-bad', { a: a.ref }, { init: unsigned.ref }));
    assert.notEqual(bad.status, 0, 'a pod with an unsigned init container was admitted');
    assert.ok(bad.stderr.includes(`container "init" image ${unsigned.ref}`), bad.stderr);
  });

  it('admits an image in the namespace whose trust policy trusts its profile, rejects it in the other', async () => {
    const { ref, pinned } = await image(true);
    const ok = await create(pod(trusted, 'per-ns', { app: ref }));
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(await images(trusted, 'per-ns'), pinned);
    const denied = await create(pod(untrusted, 'per-ns', { app: ref }));
    assert.notEqual(denied.status, 0, 'admitted in the namespace whose trust policy does not trust the profile');
    assert.ok(denied.stderr.includes(`container "app" image ${ref}`), denied.stderr);
  });

  it('rejects pods while the verifier is down (failurePolicy Fail) and admits again once it is back', async (t) => {
    const { ref, pinned } = await image(true);
    await verifier?.close();
    verifier = undefined;
    const down = await create(pod(trusted, 'while-down', { app: ref }));
    t.diagnostic(`kubectl: ${down.stderr.trim()}`);
    assert.notEqual(down.status, 0, 'admitted while the verifier was down');
    assert.match(down.stderr, /failed to execute HTTP request|connection refused/i);
    verifier = await startClusterVerifier();
    const back = await create(pod(trusted, 'after-down', { app: ref }));
    assert.equal(back.status, 0, back.stderr);
    assert.equal(await images(trusted, 'after-down'), pinned);
  });

  it('applies a trust policy edit (profile revoked from trustedIdentities) to the next admission, with nothing restarted', async () => {
    const { ref } = await image(true);
    const ok = await create(pod(trusted, 'before-edit', { app: ref }));
    assert.equal(ok.status, 0, ok.stderr);
    writeBundle({ trusted: [otherProfile()] });
    try {
      let n = 0;
      const denied = await eventually(
        async () => {
          const res = await create(pod(trusted, `after-edit-${n++}`, { app: ref }));
          assert.notEqual(res.status, 0, 'still admitted');
          return res;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.ok(denied.stderr.includes(`container "app" image ${ref}`), denied.stderr);
    } finally {
      writeBundle({ trusted: [h().profileArn] });
    }
  });

  it('admits an image whose signed SBOM meets the conditions and rejects one whose SBOM does not, with the condition message', async (t) => {
    const withSbom = async (licenseListVersion: string) => {
      const img = await image(true);
      const payload = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', creationInfo: { licenseListVersion } }));
      await attach(h(), img.pinned, { artifactType: 'sbom/example', payload, sign: true });
      return img;
    };
    const [good, bad] = await Promise.all([withSbom('3.17'), withSbom('3.16')]);
    const ok = await create(pod(attested, 'sbom-ok', { app: good.ref }));
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(await images(attested, 'sbom-ok'), good.pinned);
    const denied = await create(pod(attested, 'sbom-bad', { app: bad.ref }));
    t.diagnostic(`kubectl: ${denied.stderr.trim()}`);
    assert.notEqual(denied.status, 0, 'admitted with an SBOM that does not meet the conditions');
    assert.ok(denied.stderr.includes(`container "app" image ${bad.ref}`), denied.stderr);
    assert.match(denied.stderr, /invalid license version/);
  });
});
