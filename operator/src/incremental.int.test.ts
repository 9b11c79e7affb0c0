// A reconcile after an edit works on what changed, on the real API server of the test control plane: the render
// validates and parses the edited object alone (the others come from its cache), only the edited object's status
// is written (the others keep naming the first bundle that holds them as they are), and the bundle ConfigMap,
// which the operator compares with the answer to its own last write instead of reading it on every run, is still
// restored when someone else edits or deletes it.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { eventually, useTestControlPlane, withNamespace } from '@kna/e2e';
import { BUNDLE_KEY, parseBundle } from '@kna/shared';
import { createCa } from './certificates/pki.js';
import type { RunningOperator } from './operator.js';
import { applyProductCrds, startTestOperator, trustPolicy, trustStore, waitReady } from './testing/cluster.js';

const kube = useTestControlPlane();
const BUNDLE = 'kyverno-notation-aws-bundle';
const ECR = '111122223333.dkr.ecr.us-west-2.amazonaws.com';

interface Listed {
  items: {
    kind: string;
    metadata: { name: string; resourceVersion: string; generation: number };
    status?: { bundleVersion?: string; observedGeneration?: number; conditions?: { type: string; status: string }[] };
  }[];
}

/** Every TrustPolicy and TrustStore by kind/name. */
async function objects(): Promise<Map<string, Listed['items'][number]>> {
  const listed = JSON.parse((await kube().kubectl(['get', 'tp,ts', '-o', 'json'])).stdout) as Listed;
  return new Map(listed.items.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
}

async function counter(operator: RunningOperator, name: string): Promise<number> {
  const metric = operator.metrics.registry.getSingleMetric(name);
  assert.ok(metric, `no metric ${name}`);
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** Waits until the operator's last reconcile wrote nothing: every status and the bundle are current. */
async function quiet(operator: RunningOperator): Promise<void> {
  await eventually(
    () => {
      const report = operator.lastReport();
      assert.ok(report !== undefined && report.bundle === 'unchanged' && report.statusWrites === 0 && !report.superseded, JSON.stringify(report));
    },
    { timeoutMs: 60_000 },
  );
}

describe('an edit of one TrustPolicy', () => {
  before(() => applyProductCrds(kube()));

  it('renders that policy again and writes its status, leaving every other object alone', async () => {
    await withNamespace(kube(), async (namespace) => {
      const ca = await createCa({ commonName: 'Incremental Root', now: new Date(), validityMs: 365 * 24 * 3_600_000 });
      const apply = (json: string) => kube().kubectl(['apply', '-f', '-'], { input: json });
      await apply(trustStore('store-a', ca.cert.pem));
      await apply(trustStore('store-b', ca.cert.pem));
      const names = ['p0', 'p1', 'p2', 'p3', 'p4'];
      for (const [i, name] of names.entries()) await apply(trustPolicy(name, { store: i % 2 === 0 ? 'store-a' : 'store-b', scopes: [`${ECR}/${name}`] }));

      const operator = await startTestOperator(kube(), namespace, ['--pluginConfigMap=', '--inject-ca=false']);
      try {
        await waitReady(operator);
        await eventually(
          async () => {
            for (const [key, object] of await objects()) assert.equal(object.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', key);
          },
          { timeoutMs: 60_000 },
        );
        await quiet(operator);
        const before = await objects();
        const firstBundle = before.get('TrustPolicy/p0')?.status?.bundleVersion;
        assert.match(firstBundle ?? '', /^[0-9a-f]{64}$/);
        const reworkedBefore = await counter(operator, 'kna_operator_render_reworked_objects_total');

        await apply(trustPolicy('p2', { store: 'store-a', scopes: [`${ECR}/p2-edited`] }));
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        const bundle = await eventually(
          async () => {
            const parsed = parseBundle((await core.readNamespacedConfigMap({ name: BUNDLE, namespace })).data?.[BUNDLE_KEY] ?? '');
            assert.deepEqual(parsed.trustPolicies.p2?.document.trustPolicies[0]?.registryScopes, [`${ECR}/p2-edited`]);
            const p2 = (await objects()).get('TrustPolicy/p2');
            assert.equal(p2?.status?.observedGeneration, p2?.metadata.generation);
            return parsed;
          },
          { timeoutMs: 60_000 },
        );
        await quiet(operator);
        const after = await objects();

        // The edited policy: a new generation, its status names the new bundle.
        const p2 = after.get('TrustPolicy/p2');
        assert.equal(p2?.metadata.generation, 2);
        assert.equal(p2.status?.bundleVersion, bundle.version);
        assert.notEqual(bundle.version, firstBundle);
        // Every other object: not written at all (same resourceVersion), still naming the first bundle.
        for (const [key, object] of after) {
          if (key === 'TrustPolicy/p2') continue;
          assert.equal(object.metadata.resourceVersion, before.get(key)?.metadata.resourceVersion, `${key} was written`);
          assert.equal(object.status?.bundleVersion, firstBundle, key);
        }
        // The render worked on the edited policy only; the six other objects came from its cache.
        assert.equal((await counter(operator, 'kna_operator_render_reworked_objects_total')) - reworkedBefore, 1);
      } finally {
        await operator.stop();
      }
    });
  });

  it('restores the bundle ConfigMap when someone else edits or deletes it', async () => {
    await withNamespace(kube(), async (namespace) => {
      const ca = await createCa({ commonName: 'Restore Root', now: new Date(), validityMs: 365 * 24 * 3_600_000 });
      const apply = (json: string) => kube().kubectl(['apply', '-f', '-'], { input: json });
      await apply(trustStore('restore-store', ca.cert.pem));
      await apply(trustPolicy('restore-p', { store: 'restore-store', scopes: [`${ECR}/restore`] }));
      const operator = await startTestOperator(kube(), namespace, ['--pluginConfigMap=', '--inject-ca=false']);
      try {
        await waitReady(operator);
        await quiet(operator);
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        const text = (await core.readNamespacedConfigMap({ name: BUNDLE, namespace })).data?.[BUNDLE_KEY];
        assert.ok(text?.includes(`${ECR}/restore`));
        const restored = () =>
          eventually(async () => assert.equal((await core.readNamespacedConfigMap({ name: BUNDLE, namespace })).data?.[BUNDLE_KEY], text), {
            timeoutMs: 60_000,
          });

        await kube().kubectl(['-n', namespace, 'patch', 'configmap', BUNDLE, '--type=merge', '-p', JSON.stringify({ data: { [BUNDLE_KEY]: '{}' } })]);
        await restored();
        await kube().kubectl(['-n', namespace, 'delete', 'configmap', BUNDLE]);
        await restored();
      } finally {
        await operator.stop();
      }
    });
  });
});
