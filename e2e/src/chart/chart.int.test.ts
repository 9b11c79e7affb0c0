// The Helm chart on a real API server (a control plane of its own: the chart installs CRDs and cluster-wide
// RBAC): lint, render (defaults, every optional feature, the original chart's values) into objects the
// API server accepts, the README's install commands, upgrades that keep the generated keys, uninstall,
// and least privilege proved with `kubectl auth can-i` as each ServiceAccount, a real TokenReview, and the
// operator itself run out of cluster as the chart's operator ServiceAccount (a TokenRequest kubeconfig).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, AppsV1Api, AuthenticationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { startOperatorProcess } from '../kube/operatorProcess.js';
import { REPO_ROOT } from '../harness/tools-env.js';
import { createServiceAccount, serviceAccountToken } from '../kube/serviceAccounts.js';
import { eventually, schemalessCrd, useTestControlPlane } from '../kube/testing.js';
import { CHART_DIR, INSTALL_YAML, README, renderInstallYaml } from './files.js';
import type { KubeObject } from './samples.js';

const kube = useTestControlPlane();

const ALL_FEATURES = join(CHART_DIR, 'ci', 'all-features-values.yaml');
const ORIGINAL_VALUES = join(CHART_DIR, 'ci', 'original-v1.1-values.yaml');
// The object layout of a release of the original chart (its names, its CRDs as release-owned templates).
const ORIGINAL_CHART = join(import.meta.dirname, 'testdata', 'original-chart');
const SERVICE_MONITOR_API = 'monitoring.coreos.com/v1/ServiceMonitor';

function objects(yamlText: string): KubeObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

function names(objs: readonly KubeObject[], kind: string): string[] {
  return objs
    .filter((o) => o.kind === kind)
    .map((o) => o.metadata?.name ?? '')
    .sort();
}

interface PodSpecLike {
  containers: { name: string; args?: string[]; image?: string; volumeMounts?: { name: string; mountPath: string }[] }[];
  volumes?: { name: string }[];
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: unknown;
  serviceAccountName?: string;
}

function deployment(
  objs: readonly KubeObject[],
  name: string,
): { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpecLike } } {
  const found = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === name);
  assert.ok(found, `Deployment ${name} is rendered`);
  return found.spec as { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpecLike } };
}

function args(objs: readonly KubeObject[], name: string): string[] {
  return deployment(objs, name).template.spec.containers[0]?.args ?? [];
}

async function template(namespace: string, extra: readonly string[] = []): Promise<{ text: string; objs: KubeObject[] }> {
  const { stdout } = await kube().helm(['template', 'kna', CHART_DIR, '--namespace', namespace, ...extra]);
  return { text: stdout, objs: objects(stdout) };
}

/** `kubectl apply --dry-run=server`: the API server validates every object (schemas, admission) and stores nothing. */
async function assertAcceptedByApiServer(yamlText: string): Promise<void> {
  const result = await kube().kubectl(['apply', '--dry-run=server', '-f', '-'], { input: yamlText, allowFailure: true, timeoutMs: 120_000 });
  assert.equal(result.status, 0, `the API server rejected the rendered chart:\n${result.stderr}`);
  assert.doesNotMatch(result.stdout + result.stderr, /error|invalid|would violate PodSecurity/i);
}

/** `kubectl auth can-i` as a ServiceAccount (impersonation): true for "yes". */
async function canI(serviceAccount: string, verb: string, resource: string, options: { namespace?: string; subresource?: string } = {}): Promise<boolean> {
  const cmd = ['auth', 'can-i', verb, resource, `--as=${serviceAccount}`];
  if (options.namespace !== undefined) cmd.push('--namespace', options.namespace);
  if (options.subresource !== undefined) cmd.push(`--subresource=${options.subresource}`);
  const result = await kube().kubectl(cmd, { allowFailure: true });
  const answer = result.stdout.trim();
  assert.ok(answer === 'yes' || answer === 'no', `kubectl ${cmd.join(' ')}: ${result.stdout}${result.stderr}`);
  return answer === 'yes';
}

type Permission = readonly [verb: string, resource: string, options?: { namespace?: string; subresource?: string }];

async function assertPermissions(user: string, expected: boolean, permissions: readonly Permission[]): Promise<void> {
  const wrong: string[] = [];
  for (const [verb, resource, options] of permissions) {
    if ((await canI(user, verb, resource, options)) !== expected) {
      wrong.push(`${verb} ${resource}${options?.subresource ? `/${options.subresource}` : ''}${options?.namespace ? ` -n ${options.namespace}` : ''}`);
    }
  }
  assert.deepEqual(wrong, [], `${user} ${expected ? 'lacks' : 'has'} these permissions`);
}

/** The shell commands of the README's install block: continuation lines joined, words split as sh does. */
function readmeInstallCommands(): string[][] {
  const readme = readFileSync(README, 'utf8');
  const block = /<!-- install:begin -->\s*```sh\n([\s\S]*?)```\s*<!-- install:end -->/.exec(readme)?.[1];
  assert.ok(block, 'README.md has the install block');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? ''));
}

const NS = 'kyverno-notation-aws';
const RELEASE = 'kyverno-notation-aws';
const OPERATOR = `system:serviceaccount:${NS}:kyverno-notation-aws-operator`;
const VERIFIER = `system:serviceaccount:${NS}:kyverno-notation-aws`;
const KYVERNO = 'system:serviceaccount:kyverno:kyverno-admission-controller';

describe('the Helm chart', () => {
  before(async () => {
    await kube().kubectl(['apply', '-f', '-'], {
      input: [
        schemalessCrd('kyverno.io', 'ClusterPolicy', 'clusterpolicies', 'Cluster'),
        schemalessCrd('monitoring.coreos.com', 'ServiceMonitor', 'servicemonitors', 'Namespaced'),
      ].join('---\n'),
    });
    await kube().kubectl(
      ['wait', '--for=condition=Established', 'crd/clusterpolicies.kyverno.io', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=60s'],
      { timeoutMs: 90_000 },
    );
    renderNs = await kube().createNamespace('render');
    // Pod Security admission checks every rendered pod template against the restricted standard: it rejects
    // Pods (the helm test hook) and warns about workloads.
    await kube().kubectl(['label', 'namespace', renderNs, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
  });
  let renderNs = '';

  it('renders into a namespace that enforces the restricted Pod Security Standard (which does reject a privileged pod)', async () => {
    const privileged = `apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: ${renderNs}}
spec:
  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]
`;
    const result = await kube().kubectl(['apply', '--dry-run=server', '-f', '-'], { input: privileged, allowFailure: true });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /violates PodSecurity "restricted:latest"/);
  });

  it('passes helm lint --strict with the defaults, every optional feature, and the original chart values', async () => {
    for (const values of [[], ['-f', ALL_FEATURES], ['-f', ORIGINAL_VALUES]]) {
      const lint = await kube().helm(['lint', '--strict', CHART_DIR, ...values]);
      assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders, with its defaults, both deployments and least-privilege RBAC that the API server accepts', async () => {
    const { text, objs } = await template(renderNs);
    assert.deepEqual(names(objs, 'Deployment'), ['kna-kyverno-notation-aws-operator', 'kna-kyverno-notation-aws-verifier']);
    assert.deepEqual(names(objs, 'ServiceAccount'), ['kna-kyverno-notation-aws-operator', 'kyverno-notation-aws']);
    assert.deepEqual(names(objs, 'Service'), ['kna-kyverno-notation-aws-operator-metrics', 'kna-kyverno-notation-aws-svc']);
    assert.deepEqual(names(objs, 'PodDisruptionBudget'), ['kna-kyverno-notation-aws-operator', 'kna-kyverno-notation-aws-verifier']);
    assert.deepEqual(names(objs, 'CustomResourceDefinition'), ['trustpolicies.notation.nirmata.io', 'truststores.notation.nirmata.io']);
    for (const kind of ['HorizontalPodAutoscaler', 'NetworkPolicy', 'ServiceMonitor', 'Secret'])
      assert.deepEqual(names(objs, kind), [], `no ${kind} by default`);
    const pods = objs.filter((o) => o.kind === 'Pod');
    assert.deepEqual(
      pods.map((p) => [p.metadata?.name, p.metadata?.annotations?.['helm.sh/hook']]),
      [['kna-kyverno-notation-aws-test', 'test']],
      'the only Pod is the `helm test` hook',
    );
    assert.match(JSON.stringify(pods[0]?.spec), /http:\/\/kna-kyverno-notation-aws-svc\.[a-z0-9-]+\.svc:8081\/readyz/);
    const service = objs.find((o) => o.kind === 'Service' && o.metadata?.name === 'kna-kyverno-notation-aws-svc')?.spec as {
      ports: { name: string; port: number; targetPort: string }[];
    };
    assert.deepEqual(
      service.ports.find((p) => p.name === 'https'),
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' },
    );
    const verifier = deployment(objs, 'kna-kyverno-notation-aws-verifier');
    assert.equal(verifier.replicas, 2);
    assert.deepEqual(
      verifier.template.spec.volumes?.map((v) => v.name),
      ['bundle', 'tls', 'work', 'tmp'],
    );
    assert.equal(deployment(objs, 'kna-kyverno-notation-aws-operator').replicas, 2);
    assert.ok(args(objs, 'kna-kyverno-notation-aws-operator').includes('--serviceName=kna-kyverno-notation-aws-svc'));
    for (const kind of ['Deployment']) {
      for (const d of objs.filter((o) => o.kind === kind)) {
        const spec = (
          d.spec as {
            template: { spec: PodSpecLike & { securityContext: Record<string, unknown>; containers: { securityContext: Record<string, unknown> }[] } };
          }
        ).template.spec;
        assert.equal(spec.securityContext.runAsNonRoot, true);
        assert.deepEqual(spec.containers[0]?.securityContext, {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
    await assertAcceptedByApiServer(text);
  });

  it('renders every optional feature, the ServiceMonitors only when the cluster serves their API', async () => {
    const without = await template(renderNs, ['-f', ALL_FEATURES]);
    assert.deepEqual(names(without.objs, 'ServiceMonitor'), [], 'no ServiceMonitor without the Prometheus Operator API');
    const { text, objs } = await template(renderNs, ['-f', ALL_FEATURES, '--api-versions', SERVICE_MONITOR_API]);
    assert.deepEqual(names(objs, 'ServiceMonitor'), ['kna-kyverno-notation-aws-operator', 'kna-kyverno-notation-aws-verifier']);
    assert.deepEqual(names(objs, 'HorizontalPodAutoscaler'), ['kna-kyverno-notation-aws-verifier']);
    assert.deepEqual(names(objs, 'NetworkPolicy'), [
      'kna-kyverno-notation-aws-operator',
      'kna-kyverno-notation-aws-redis',
      'kna-kyverno-notation-aws-verifier',
    ]);
    assert.deepEqual(names(objs, 'Secret'), ['kna-kyverno-notation-aws-cache-hmac', 'kna-kyverno-notation-aws-redis']);
    assert.deepEqual(names(objs, 'Deployment'), ['kna-kyverno-notation-aws-operator', 'kna-kyverno-notation-aws-redis', 'kna-kyverno-notation-aws-verifier']);
    assert.equal(deployment(objs, 'kna-kyverno-notation-aws-verifier').replicas, undefined, 'the autoscaler owns the replica count');
    const verifierArgs = args(objs, 'kna-kyverno-notation-aws-verifier');
    for (const expected of [
      `--redisURL=redis://kna-kyverno-notation-aws-redis.${renderNs}.svc:6379`,
      '--redisPasswordFile=/etc/kyverno-notation-aws/redis/password',
      '--cacheHMACKeyFile=/etc/kyverno-notation-aws/cache-hmac/hmac.key',
      '--imagePullSecrets=ecr-mirror',
      '--onInfraError=allow',
      '--allowedUsers=system:serviceaccount:kyverno:kyverno-admission-controller',
      '--maxAttestationBytes=8388608',
      '--debug',
    ]) {
      assert.ok(verifierArgs.includes(expected), `verifier args include ${expected}: ${verifierArgs.join(' ')}`);
    }
    const operatorArgs = args(objs, 'kna-kyverno-notation-aws-operator');
    for (const expected of ['--leader-elect-lease-duration=20s', '--kube-api-timeout=45s', '--caValidity=8760h', '--certValidity=2160h'])
      assert.ok(operatorArgs.includes(expected), expected);
    const readers = objs.find((o) => o.kind === 'Role' && o.metadata?.name === 'kna-kyverno-notation-aws-kyverno-reader') as
      { rules: { resources: string[]; resourceNames: string[] }[] } | undefined;
    assert.deepEqual(
      readers?.rules.map((r) => [r.resources, r.resourceNames]),
      [
        [['configmaps'], ['kna-kyverno-notation-aws-ca']],
        [['secrets'], [`kna-kyverno-notation-aws-svc.${renderNs}.svc.tls-pair`]],
      ],
    );
    await assertAcceptedByApiServer(text);
  });

  it('renders a values file written for the original chart unchanged, with the meaning it had there', async () => {
    const { text, objs } = await template(renderNs, ['-f', ORIGINAL_VALUES]);
    const verifier = deployment(objs, 'kna-kyverno-notation-aws-verifier');
    const verifierArgs = args(objs, 'kna-kyverno-notation-aws-verifier');
    for (const expected of [
      '--imagePullSecrets=regcred,regcred2',
      '--allowInsecureRegistry=true',
      '--maxSignatureAttempts=50',
      '--pluginConfigMap=notation-plugin-config',
    ]) {
      assert.ok(verifierArgs.includes(expected), `verifier args include ${expected}`);
    }
    assert.equal(verifier.template.spec.containers[0]?.image, 'ghcr.io/nirmata/kyverno-notation-aws:c6d5d94e638e36bd9c29ff0a78fbfa64b555d561');
    assert.equal(verifier.template.spec.serviceAccountName, 'kyverno-notation-aws');
    const sa = objs.find((o) => o.kind === 'ServiceAccount' && o.metadata?.name === 'kyverno-notation-aws');
    assert.deepEqual(sa?.metadata?.annotations, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/kyverno-notation-aws' });
    const secrets = objs.filter((o) => o.kind === 'Secret') as (KubeObject & { type: string; data: Record<string, string> })[];
    assert.deepEqual(
      secrets.map((s) => [s.metadata?.name, s.type, JSON.parse(Buffer.from(s.data['.dockerconfigjson'] ?? '', 'base64').toString('utf8')) as unknown]),
      [
        ['regcred', 'kubernetes.io/dockerconfigjson', { auths: { 'foo.example.com': { auth: Buffer.from('foobar:secret').toString('base64') } } }],
        ['regcred2', 'kubernetes.io/dockerconfigjson', { auths: { 'bar.example.com': { auth: Buffer.from('barbaz:secret2').toString('base64') } } }],
      ],
    );
    const mounts = verifier.template.spec.containers[0].volumeMounts?.map((m) => m.mountPath) ?? [];
    assert.ok(mounts.includes('/etc/kyverno-notation-aws/pull-secrets/regcred') && mounts.includes('/etc/kyverno-notation-aws/pull-secrets/regcred2'));
    for (const name of ['kna-kyverno-notation-aws-verifier', 'kna-kyverno-notation-aws-operator']) {
      const spec = deployment(objs, name).template.spec;
      assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/os': 'linux' }, `${name} nodeSelector`);
      assert.equal(spec.tolerations?.length, 1, `${name} tolerations`);
      assert.ok(spec.affinity, `${name} affinity`);
      assert.equal(deployment(objs, name).template.metadata.labels.team, 'platform');
    }
    assert.deepEqual((verifier as unknown as { strategy: unknown }).strategy, { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }, type: 'RollingUpdate' });
    await assertAcceptedByApiServer(text);
  });

  it("rejects a value of the wrong type with Helm's schema message", async () => {
    const result = await kube().helm(['template', 'kna', CHART_DIR, '--set-string', 'verifier.replicas=two'], { allowFailure: true });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /values don't meet the specifications of the schema/);
    assert.match(result.stderr, /- at '\/verifier\/replicas': got string, want integer/);
  });

  it('charts/install.yaml is the chart rendered with its defaults (run `pnpm chart`)', async () => {
    assert.equal(readFileSync(INSTALL_YAML, 'utf8'), await renderInstallYaml((a) => kube().helm(a)), 'charts/install.yaml is stale: run `pnpm chart`');
  });

  it("installs with the README's commands: every object, the CRDs, and the samples' trust resources", async () => {
    for (const [tool, ...rest] of readmeInstallCommands()) {
      const resolved = rest.map((a) => (a.startsWith('charts/') ? join(REPO_ROOT, a) : a));
      if (tool === 'helm' && resolved[0] === 'test') {
        console.log('skipping `helm test` from the README: the test control plane has no kubelet to run its pod');
        continue;
      }
      assert.ok(tool === 'helm' || tool === 'kubectl', `README install commands use helm and kubectl, not ${tool ?? ''}`);
      const result = tool === 'helm' ? await kube().helm(resolved) : await kube().kubectl(resolved);
      if (resolved[0] === 'install') assert.match(result.stdout, /STATUS: deployed/);
      if (resolved[0] === 'get') assert.match(result.stdout, /tp-team-a/);
    }
    const apps = kube().kubeConfig().makeApiClient(AppsV1Api);
    const core = kube().kubeConfig().makeApiClient(CoreV1Api);
    const deployments = await apps.listNamespacedDeployment({ namespace: NS });
    assert.deepEqual(deployments.items.map((d) => d.metadata?.name).sort(), ['kyverno-notation-aws-operator', 'kyverno-notation-aws-verifier']);
    const verifierSa = await core.readNamespacedServiceAccount({ namespace: NS, name: 'kyverno-notation-aws' });
    assert.equal(verifierSa.metadata?.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::111122223333:role/kyverno-notation-aws');
    const service = await core.readNamespacedService({ namespace: NS, name: 'svc' });
    assert.equal(service.spec?.ports?.[0]?.port, 443);
    const plugin = await core.readNamespacedConfigMap({ namespace: NS, name: 'notation-plugin-config' });
    assert.deepEqual(plugin.data, { debug: 'false' });
    const policies = await kube().kubectl(['get', 'clusterpolicies', '-o', 'name']);
    assert.match(policies.stdout, /check-images-per-namespace/);
    // Every sample is accepted by the API server (the trust resources against the chart's CRDs).
    const samples = await kube().kubectl(['apply', '--dry-run=server', '-f', join(REPO_ROOT, 'charts', 'samples')]);
    for (const name of [
      'truststore.notation.nirmata.io/aws-us-gov-signer-ts',
      'trustpolicy.notation.nirmata.io/tp-govcloud',
      'clusterpolicy.kyverno.io/audit-image-signatures',
      'clusterpolicy.kyverno.io/check-images-attestations',
      'clusterpolicy.kyverno.io/check-images',
      'configmap/notation-plugin-config',
    ]) {
      assert.match(samples.stdout, new RegExp(`${name.replaceAll('.', '\\.')} (created|configured|unchanged) \\(server dry run\\)`));
    }
  });

  it('gives the operator exactly what it needs: CR status, its namespace, ClusterPolicies for CA injection', async () => {
    await assertPermissions(OPERATOR, true, [
      ['get', 'trustpolicies.notation.nirmata.io'],
      ['list', 'trustpolicies.notation.nirmata.io'],
      ['watch', 'trustpolicies.notation.nirmata.io'],
      ['watch', 'truststores.notation.nirmata.io'],
      ['update', 'trustpolicies.notation.nirmata.io', { subresource: 'status' }],
      ['patch', 'truststores.notation.nirmata.io', { subresource: 'status' }],
      ['patch', 'trustpolicies.notation.nirmata.io'],
      ['create', 'configmaps', { namespace: NS }],
      ['update', 'configmaps', { namespace: NS }],
      ['watch', 'configmaps', { namespace: NS }],
      ['create', 'secrets', { namespace: NS }],
      ['update', 'secrets', { namespace: NS }],
      ['get', 'secrets', { namespace: NS }],
      ['create', 'leases.coordination.k8s.io', { namespace: NS }],
      ['update', 'leases.coordination.k8s.io', { namespace: NS }],
      ['create', 'events', { namespace: NS }],
      ['create', 'events.events.k8s.io', { namespace: NS }],
      // The Events of cluster-scoped objects (TrustPolicy/TrustStore transitions) are accepted only in default.
      ['create', 'events', { namespace: 'default' }],
      ['list', 'clusterpolicies.kyverno.io'],
      ['watch', 'clusterpolicies.kyverno.io'],
      ['patch', 'clusterpolicies.kyverno.io'],
    ]);
    await assertPermissions(OPERATOR, false, [
      ['create', 'trustpolicies.notation.nirmata.io'],
      ['delete', 'trustpolicies.notation.nirmata.io'],
      ['update', 'truststores.notation.nirmata.io'],
      ['delete', 'configmaps', { namespace: NS }],
      ['delete', 'secrets', { namespace: NS }],
      ['delete', 'leases.coordination.k8s.io', { namespace: NS }],
      ['create', 'configmaps', { namespace: 'default' }],
      ['update', 'configmaps', { namespace: 'kube-system' }],
      ['get', 'secrets', { namespace: 'kube-system' }],
      ['create', 'secrets', { namespace: 'default' }],
      ['update', 'leases.coordination.k8s.io', { namespace: 'kube-system' }],
      ['create', 'events', { namespace: 'kube-system' }],
      ['get', 'events', { namespace: 'default' }],
      ['create', 'clusterpolicies.kyverno.io'],
      ['delete', 'clusterpolicies.kyverno.io'],
      ['create', 'pods', { namespace: NS }],
      ['create', 'tokenreviews.authentication.k8s.io'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ]);
  });

  it('gives the verifier TokenReview and nothing else: no Secrets, no ConfigMaps, no custom resources', async () => {
    await assertPermissions(VERIFIER, true, [['create', 'tokenreviews.authentication.k8s.io']]);
    await assertPermissions(VERIFIER, false, [
      ['get', 'secrets', { namespace: NS }],
      ['list', 'secrets', { namespace: NS }],
      ['watch', 'secrets', { namespace: NS }],
      ['get', 'secrets', { namespace: 'kube-system' }],
      ['get', 'configmaps', { namespace: NS }],
      ['list', 'trustpolicies.notation.nirmata.io'],
      ['update', 'trustpolicies.notation.nirmata.io', { subresource: 'status' }],
      ['create', 'configmaps', { namespace: NS }],
      ['get', 'leases.coordination.k8s.io', { namespace: NS }],
      ['patch', 'clusterpolicies.kyverno.io'],
      ['create', 'events', { namespace: NS }],
    ]);
  });

  it("lets Kyverno read the CA bundle by name, and not the serving certificate's Secret", async () => {
    await assertPermissions(KYVERNO, true, [['get', 'configmaps/kyverno-notation-aws-ca', { namespace: NS }]]);
    await assertPermissions(KYVERNO, false, [
      ['get', 'secrets/svc.kyverno-notation-aws.svc.tls-pair', { namespace: NS }],
      ['list', 'configmaps', { namespace: NS }],
      ['get', 'configmaps/kyverno-notation-aws-bundle', { namespace: NS }],
    ]);
  });

  it("the verifier's ServiceAccount reviews Kyverno's tokens for real; the operator's may not", async () => {
    await kube().kubectl(['create', 'namespace', 'kyverno']);
    await createServiceAccount(kube(), 'kyverno', 'kyverno-admission-controller');
    const verifierToken = await serviceAccountToken(kube(), NS, 'kyverno-notation-aws');
    const asVerifier = kube().kubeConfigForToken(verifierToken).makeApiClient(AuthenticationV1Api);
    for (const audiences of [[], ['kyverno-svc.kyverno.io']]) {
      const token = await serviceAccountToken(kube(), 'kyverno', 'kyverno-admission-controller', audiences);
      const review = await asVerifier.createTokenReview({ body: { spec: { token, audiences } } });
      assert.equal(review.status?.authenticated, true, `token with audiences [${audiences.join(', ')}]`);
      assert.equal(review.status.user?.username, KYVERNO);
    }
    const operatorToken = await serviceAccountToken(kube(), NS, 'kyverno-notation-aws-operator');
    const asOperator = kube().kubeConfigForToken(operatorToken).makeApiClient(AuthenticationV1Api);
    await assert.rejects(
      asOperator.createTokenReview({ body: { spec: { token: verifierToken } } }),
      (err: unknown) => err instanceof ApiException && err.code === 403,
    );
  });

  it("reconciles as the chart's operator ServiceAccount, out of cluster: bundle, CR status, certificate Secrets, CA injection", async (t) => {
    // No kubelet runs the chart's operator pods; scaled to 0 so that nothing else could have written what is checked.
    await kube().kubectl(['-n', NS, 'scale', 'deployment', 'kyverno-notation-aws-operator', '--replicas=0']);
    const apps = kube().kubeConfig().makeApiClient(AppsV1Api);
    const core = kube().kubeConfig().makeApiClient(CoreV1Api);
    for (const name of ['kyverno-notation-aws-bundle', 'kyverno-notation-aws-ca']) {
      await assert.rejects(
        core.readNamespacedConfigMap({ namespace: NS, name }),
        (err: unknown) => err instanceof ApiException && err.code === 404,
        `${name} exists before the operator ran`,
      );
    }
    // The Deployment's own arguments (minus the image's subcommand), with loopback listeners instead of :8080/:8081.
    const spec = (await apps.readNamespacedDeployment({ namespace: NS, name: 'kyverno-notation-aws-operator' })).spec?.template.spec;
    const chartArgs = (spec?.containers[0]?.args ?? []).filter((a, i) => !(i === 0 && a === 'operator'));
    assert.ok(chartArgs.includes(`--namespace=${NS}`), chartArgs.join(' '));
    const dir = mkdtempSync(join(tmpdir(), 'kna-chart-operator-'));
    const token = await serviceAccountToken(kube(), NS, spec?.serviceAccountName ?? '');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kube().kubeConfigForToken(token).exportConfig(), { mode: 0o600 });
    const logFile = join(dir, 'operator.log');
    const operator = await startOperatorProcess({
      args: (probe) => [
        ...chartArgs,
        `--kubeconfig=${kubeconfig}`,
        '--identity=chart-rbac-test',
        '--metrics-bind-address=0',
        `--health-probe-bind-address=127.0.0.1:${probe}`,
      ],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir },
      logFile,
    });
    try {
      await eventually(
        async () => {
          const bundle = await core.readNamespacedConfigMap({ namespace: NS, name: 'kyverno-notation-aws-bundle' });
          assert.match(bundle.data?.['bundle.json'] ?? '', /tp-team-a/);
          const status = await kube().kubectl(['get', 'trustpolicy', 'tp-team-a', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
          assert.equal(status.stdout, 'True');
          const stores = await kube().kubectl([
            'get',
            'truststores',
            '-o',
            'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}',
          ]);
          assert.match(stores.stdout, /True/);
          for (const name of ['svc.kyverno-notation-aws.svc.tls-ca', 'svc.kyverno-notation-aws.svc.tls-pair']) {
            const secret = await core.readNamespacedSecret({ namespace: NS, name });
            assert.match(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString(), /BEGIN CERTIFICATE/, name);
          }
          const ca = await core.readNamespacedConfigMap({ namespace: NS, name: 'kyverno-notation-aws-ca' });
          assert.match(ca.data?.['ca.crt'] ?? '', /BEGIN CERTIFICATE/);
          // The sample ClusterPolicy the README applies (annotated) gets the CA in its apiCall to the Service.
          const policy = JSON.parse((await kube().kubectl(['get', 'clusterpolicy', 'check-images-per-namespace', '-o', 'json'])).stdout) as {
            spec: { rules: { context?: { apiCall?: { service?: { caBundle?: string } } }[] }[] };
          };
          const bundles = policy.spec.rules.flatMap((r) => (r.context ?? []).map((c) => c.apiCall?.service?.caBundle)).filter((b) => b !== undefined);
          assert.ok(
            bundles.length > 0 && bundles.every((b) => b.trim() === (ca.data?.['ca.crt'] ?? '').trim()),
            `CA not injected into check-images-per-namespace: ${JSON.stringify(bundles)}`,
          );
          const lease = await kube().kubectl(['-n', NS, 'get', 'lease', 'kyverno-notation-aws-operator', '-o', 'jsonpath={.spec.holderIdentity}']);
          assert.equal(lease.stdout, 'chart-rbac-test');
        },
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );
    } finally {
      await operator.stop();
    }
    const log = readFileSync(logFile, 'utf8');
    t.diagnostic(`operator log: ${log.split('\n').length} lines`);
    assert.doesNotMatch(log, /forbidden|\b403\b/i, 'the operator was refused something it asked for');
    rmSync(dir, { recursive: true, force: true });
  });

  it('upgrades: a generated cache key and Redis password survive later upgrades; ClusterPolicy access follows operator.injectCA', async () => {
    const core = kube().kubeConfig().makeApiClient(CoreV1Api);
    const apps = kube().kubeConfig().makeApiClient(AppsV1Api);
    const upgrade = (...sets: string[]) =>
      kube().helm(['upgrade', RELEASE, CHART_DIR, '--namespace', NS, '--reuse-values', ...sets.flatMap((s) => ['--set', s])]);

    await upgrade('redis.enabled=true', 'operator.injectCA=false');
    const hmac = await core.readNamespacedSecret({ namespace: NS, name: 'kyverno-notation-aws-cache-hmac' });
    const password = await core.readNamespacedSecret({ namespace: NS, name: 'kyverno-notation-aws-redis' });
    const key = Buffer.from(hmac.data?.['hmac.key'] ?? '', 'base64').toString('utf8');
    assert.match(key, /^[A-Za-z0-9]{64}$/);
    // The RBAC authorizer sees the changed ClusterRole through its informer, a moment after the write.
    await eventually(async () => assert.equal(await canI(OPERATOR, 'patch', 'clusterpolicies.kyverno.io'), false), { timeoutMs: 30_000, intervalMs: 500 });

    const upgraded = await upgrade('verifier.replicas=3', 'operator.injectCA=true');
    assert.match(upgraded.stdout, /REVISION: 3/);
    const verifier = await apps.readNamespacedDeployment({ namespace: NS, name: 'kyverno-notation-aws-verifier' });
    assert.equal(verifier.spec?.replicas, 3);
    assert.match(JSON.stringify(verifier.spec), /"--cacheHMACKeyFile=\/etc\/kyverno-notation-aws\/cache-hmac\/hmac\.key"/);
    assert.deepEqual(
      (await core.readNamespacedSecret({ namespace: NS, name: 'kyverno-notation-aws-cache-hmac' })).data,
      hmac.data,
      'the HMAC key is unchanged',
    );
    assert.deepEqual(
      (await core.readNamespacedSecret({ namespace: NS, name: 'kyverno-notation-aws-redis' })).data,
      password.data,
      'the Redis password is unchanged',
    );
    await eventually(async () => assert.equal(await canI(OPERATOR, 'patch', 'clusterpolicies.kyverno.io'), true), { timeoutMs: 30_000, intervalMs: 500 });
  });

  it('uninstalls everything but the CRDs (and so the trust policies)', async () => {
    const uninstalled = await kube().helm(['uninstall', RELEASE, '--namespace', NS]);
    assert.match(uninstalled.stdout, /release "kyverno-notation-aws" uninstalled/);
    const left = await kube().kubectl([
      'get',
      'deployments,services,serviceaccounts,secrets,configmaps,roles,rolebindings,poddisruptionbudgets',
      '--namespace',
      NS,
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    assert.equal(left.stdout.trim(), '');
    const cluster = await kube().kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name']);
    assert.doesNotMatch(cluster.stdout, /kyverno-notation-aws/);
    const crds = await kube().kubectl(['get', 'crd', '-o', 'name']);
    assert.match(crds.stdout, /trustpolicies\.notation\.nirmata\.io/);
    assert.match(crds.stdout, /truststores\.notation\.nirmata\.io/);
    const tps = await kube().kubectl(['get', 'trustpolicies', '-o', 'name']);
    assert.match(tps.stdout, /trustpolicy\.notation\.nirmata\.io\/tp-team-a/);
  });

  it('upgrades a release of the original chart in place: the CRDs and trust policies stay, the Service keeps its name', async () => {
    // After the uninstall above, the kept CRDs still carry this release's name and namespace, so the
    // original's release (same name, same namespace) adopts them, as an existing installation owns them.
    const original = await kube().helm(['install', RELEASE, ORIGINAL_CHART, '--namespace', NS, '-f', ORIGINAL_VALUES]);
    assert.match(original.stdout, /STATUS: deployed/);
    const apps = kube().kubeConfig().makeApiClient(AppsV1Api);
    const core = kube().kubeConfig().makeApiClient(CoreV1Api);
    assert.ok(await apps.readNamespacedDeployment({ namespace: NS, name: 'kyverno-notation-aws' }));

    const upgraded = await kube().helm([
      'upgrade',
      RELEASE,
      CHART_DIR,
      '--namespace',
      NS,
      '-f',
      ORIGINAL_VALUES,
      '--set',
      'image.repository=registry.example.com/kyverno-notation-aws',
      '--set',
      'image.tag=0.1.0',
    ]);
    assert.match(upgraded.stdout, /STATUS: deployed/);
    assert.match(upgraded.stdout, /REVISION: 2/);

    const tps = await kube().kubectl(['get', 'trustpolicies', '-o', 'name']);
    assert.match(tps.stdout, /tp-team-a/, 'the trust policies outlive the upgrade');
    const crd = JSON.parse((await kube().kubectl(['get', 'crd', 'trustpolicies.notation.nirmata.io', '-o', 'json'])).stdout) as {
      metadata: { annotations?: Record<string, string> };
      spec: { versions: { additionalPrinterColumns?: { name: string }[] }[] };
    };
    assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    assert.ok(
      crd.spec.versions[0]?.additionalPrinterColumns?.some((c) => c.name === 'Ready'),
      "the CRD is this chart's now (printer columns)",
    );

    await assert.rejects(
      apps.readNamespacedDeployment({ namespace: NS, name: 'kyverno-notation-aws' }),
      (err: unknown) => err instanceof ApiException && err.code === 404,
    );
    const deployments = await apps.listNamespacedDeployment({ namespace: NS });
    assert.deepEqual(deployments.items.map((d) => d.metadata?.name).sort(), ['kyverno-notation-aws-operator', 'kyverno-notation-aws-verifier']);
    const operatorArgs = deployments.items.find((d) => d.metadata?.name === 'kyverno-notation-aws-operator')?.spec?.template.spec?.containers[0]?.args ?? [];
    assert.ok(operatorArgs.includes('--serviceName=kyverno-notation-aws-svc'), 'certificates are issued for the Service the policies already call');
    const service = await core.readNamespacedService({ namespace: NS, name: 'kyverno-notation-aws-svc' });
    assert.equal(service.spec?.ports?.find((p) => p.name === 'https')?.port, 443);
    const sa = await core.readNamespacedServiceAccount({ namespace: NS, name: 'kyverno-notation-aws' });
    assert.equal(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::111122223333:role/kyverno-notation-aws');
    for (const name of ['regcred', 'regcred2']) assert.equal((await core.readNamespacedSecret({ namespace: NS, name })).type, 'kubernetes.io/dockerconfigjson');
  });
});
