// The product end to end, every part a real process: kubectl → kube-apiserver → Kyverno's real
// admission controller (the sample ClusterPolicy: apiCall.service POST /checkimages + JSON-patch
// mutation) → the verifier (`verifier/src/main.ts`) in cluster mode (HTTPS with the operator's
// serving pair, --bundleDir on the operator's bundle ConfigMap, TokenReview of Kyverno's scoped
// token) → real notation with the AWS Signer plugin against the signing harness's registry.
//
// The operator (`operator/src/main.ts`, out of cluster) reconciles the TrustPolicy/TrustStore CRs
// applied with kubectl into the bundle ConfigMap, writes the TLS Secrets and injects its CA into the
// ClusterPolicy (annotated notation.nirmata.io/inject-ca). The kubelet mirror projects the bundle
// ConfigMap and the tls-pair Secret into the directories the verifier reads, as a pod's volumes would.
// Out of cluster Kyverno reaches the verifier at https://127.0.0.1:<port>, so the operator runs with
// --extraServiceHosts=127.0.0.1 (serving certificate SAN and injection target; docs/kyverno.md).
//
// The setup commands, the operator's and verifier's command lines and the ClusterPolicy's shape are
// README "Try it with Kyverno"'s blocks tagged `kyverno-test`, run as written (e2e/src/kyverno/readme.ts).
//
// Covers: signed pod admitted and pinned, unsigned rejected with the verifier's reason, init and
// multi-container pods, per-namespace trust policies (`tp-{{request.namespace}}`), the sample's SBOM
// attestation conditions, the verifier process stopped with failurePolicy Fail, and a TrustPolicy CR
// edit reaching admission with nothing restarted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import {
  KYVERNO_APICALL_AUDIENCE,
  SAMPLE_ATTESTATION,
  answers,
  attach,
  checkImagesPolicy,
  eventually,
  freePorts,
  kyvernoReadmeArgs,
  kyvernoReadmeBlock,
  push,
  sign,
  startHarness,
  startKubeletMirror,
  startKyverno,
  startOperatorProcess,
  startProcess,
  toolsEnv,
  useTestControlPlane,
  type Harness,
  type KubeletMirror,
  type RunningKyverno,
  type RunningProcess,
} from '@kna/e2e';
import { pluginConfigMapManifest, trustPolicyManifest, trustStoreManifest } from '../testkit/localVerifier.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The release namespace and name: the chart's defaults, and what the README's commands use. */
const NAMESPACE = 'kyverno-notation-aws';
const RELEASE = 'kyverno-notation-aws';
const TLS_PAIR = `svc.${NAMESPACE}.svc.tls-pair`;

const kube = useTestControlPlane();

describe('Kyverno → verifier, with the operator', () => {
  let harness: Harness | undefined;
  let kyverno: RunningKyverno | undefined;
  let operator: RunningProcess | undefined;
  let verifier: RunningProcess | undefined;
  const mirrors: KubeletMirror[] = [];
  let dir = '';
  let port = 0;
  let probePort = 0;
  const trusted = `trusted-${randomUUID().slice(0, 6)}`;
  const untrusted = `untrusted-${randomUUID().slice(0, 6)}`;
  const attested = `attested-${randomUUID().slice(0, 6)}`;

  const otherProfile = () => h().profileArn.replace(/HarnessProfile$/, 'OtherProfile');
  const h = () => {
    assert.ok(harness, 'the signing harness did not start');
    return harness;
  };

  const apply = (manifest: string) => kube().kubectl(['apply', '-f', '-'], { input: manifest });
  const trustedPolicy = (identities: readonly string[]) => trustPolicyManifest(`tp-${trusted}`, { scopes: ['*'], identities });

  /**
   * The README's verifier command (`pnpm verifier -- …` is `tsx --conditions=source verifier/src/main.ts …`)
   * on `port`: the same one after a restart, since the policy's URL names it.
   */
  async function startClusterVerifier(): Promise<RunningProcess> {
    const tools = toolsEnv();
    const args = kyvernoReadmeArgs('verifier', 'pnpm verifier --', {
      KUBECONFIG: kube().kubeconfig,
      KNA_DIR: dir,
      VERIFIER_PORT: String(port),
      VERIFIER_PROBE_PORT: String(probePort),
    });
    assert.ok(args.includes(`--tokenReviewAudiences=${KYVERNO_APICALL_AUDIENCE}`), `README's verifier command: ${args.join(' ')}`);
    return startProcess({
      name: 'verifier',
      command: process.execPath,
      args: ['--conditions=source', '--import', 'tsx', join(ROOT, 'verifier/src/main.ts'), ...args],
      cwd: ROOT,
      env: { PATH: tools.PATH, HOME: process.env.HOME, NOTATION_LIBEXEC: tools.NOTATION_LIBEXEC, ...h().pluginEnv },
      logFile: join(dir, 'verifier.log'),
      ready: () => answers(`http://127.0.0.1:${probePort}/readyz`),
      readyTimeoutMs: 120_000,
    });
  }

  before(async () => {
    harness = await startHarness();
    dir = join(harness.dir, 'kyverno-e2e');
    mkdirSync(dir, { recursive: true });
    kyverno = await startKyverno(kube());

    // The README's setup commands (our CRDs, the release namespace), then the plugin ConfigMap and the
    // trust policies, as a user applies them.
    execFileSync('bash', ['-e', '-o', 'pipefail', '-c', kyvernoReadmeBlock('setup')], {
      cwd: ROOT,
      env: { ...process.env, ...kube().env, PATH: toolsEnv().PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    await kube().kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/trustpolicies.notation.nirmata.io',
      'crd/truststores.notation.nirmata.io',
    ]);
    for (const ns of [trusted, untrusted, attested]) await kube().kubectl(['create', 'namespace', ns]);
    await kube().kubectl(['-n', NAMESPACE, 'apply', '-f', '-'], { input: pluginConfigMapManifest(h().pluginConfig) });
    await eventually(() => apply(trustStoreManifest('harness-root', readFileSync(h().rootCert, 'utf8'))), { timeoutMs: 60_000 });
    await apply(
      [
        trustedPolicy([h().profileArn]),
        trustPolicyManifest(`tp-${untrusted}`, { scopes: ['*'], identities: [otherProfile()] }),
        trustPolicyManifest(`tp-${attested}`, { scopes: ['*'], identities: [h().profileArn] }),
      ].join('---\n'),
    );

    // The operator, out of cluster: the README's command (`pnpm operator -- …`).
    operator = await startOperatorProcess({
      args: (probe) => kyvernoReadmeArgs('operator', 'pnpm operator --', { KUBECONFIG: kube().kubeconfig, OPERATOR_PROBE_PORT: String(probe) }),
      logFile: join(dir, 'operator.log'),
    });

    // The pod's volumes: the bundle ConfigMap and the serving pair, projected as the kubelet does.
    const kubeConfig = kube().kubeConfig();
    mirrors.push(await startKubeletMirror({ kubeConfig, namespace: NAMESPACE, kind: 'ConfigMap', name: `${RELEASE}-bundle`, dir: join(dir, 'bundle') }));
    mirrors.push(await startKubeletMirror({ kubeConfig, namespace: NAMESPACE, kind: 'Secret', name: TLS_PAIR, dir: join(dir, 'tls') }));
    await Promise.all(mirrors.map((m) => m.synced()));
    // Every trust policy reconciled into the bundle and reported Ready on its CR.
    await eventually(
      async () => {
        const out = await kube().kubectl([
          'get',
          'trustpolicies',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
        ]);
        for (const ns of [trusted, untrusted, attested]) assert.ok(out.stdout.includes(`tp-${ns}=True`), out.stdout);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );

    [port = 0, probePort = 0] = await freePorts(2);
    verifier = await startClusterVerifier();

    const url = `https://127.0.0.1:${port}/checkimages`;
    const policy = checkImagesPolicy({ namespaces: [trusted, untrusted], url, ca: { injectCa: true }, imageReferences: [`${harness.registry}/*`] });
    // The sample's attestation check, in a policy of its own for one namespace.
    const attestations = checkImagesPolicy({
      name: 'check-images-attestations',
      namespaces: [attested],
      url,
      ca: { injectCa: true },
      imageReferences: [`${harness.registry}/*`],
      attestations: [SAMPLE_ATTESTATION],
    });
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [policy, attestations] }));
    // The operator injects its CA (the `<name>-ca` ConfigMap's ca.crt) into both policies' apiCalls.
    await eventually(
      async () => {
        const ca = (await kube().kubectl(['-n', NAMESPACE, 'get', 'configmap', `${RELEASE}-ca`, '-o', 'jsonpath={.data.ca\\.crt}'])).stdout;
        assert.match(ca, /BEGIN CERTIFICATE/);
        for (const name of ['check-images', 'check-images-attestations']) {
          const injected = (await kube().kubectl(['get', 'clusterpolicy', name, '-o', 'jsonpath={.spec.rules[0].context[0].apiCall.service.caBundle}'])).stdout;
          assert.equal(injected.trim(), ca.trim(), `${name}: CA not injected`);
        }
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await kube().kubectl(['wait', '--for=condition=Ready', '--timeout=120s', 'clusterpolicy/check-images', 'clusterpolicy/check-images-attestations'], {
      timeoutMs: 130_000,
    });
  });

  after(async () => {
    await kyverno?.stop();
    await verifier?.stop();
    for (const mirror of mirrors) await mirror.close();
    await operator?.stop();
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

  it('rejects pods while the verifier process is stopped (failurePolicy Fail) and admits again once it is back', async (t) => {
    const { ref, pinned } = await image(true);
    await verifier?.stop();
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

  it('applies a TrustPolicy CR edit (profile revoked from trustedIdentities) to the next admission, with nothing restarted', async () => {
    const { ref } = await image(true);
    const ok = await create(pod(trusted, 'before-edit', { app: ref }));
    assert.equal(ok.status, 0, ok.stderr);
    const pids = [operator?.pid, verifier?.pid, kyverno?.pid];
    await apply(trustedPolicy([otherProfile()]));
    try {
      let n = 0;
      const denied = await eventually(
        async () => {
          const res = await create(pod(trusted, `after-edit-${n++}`, { app: ref }));
          assert.notEqual(res.status, 0, 'still admitted');
          return res;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      assert.ok(denied.stderr.includes(`container "app" image ${ref}`), denied.stderr);
      assert.deepEqual([operator?.pid, verifier?.pid, kyverno?.pid], pids, 'a process was restarted');
    } finally {
      await apply(trustedPolicy([h().profileArn]));
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
