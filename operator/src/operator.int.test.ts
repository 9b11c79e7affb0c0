// The operator on the real API server of the test control plane: TrustPolicies and TrustStores in the shape users
// write become the bundle ConfigMap and a truthful status (what `kubectl get tp/ts` shows), the bundle is written
// exactly once per content change and never on restarts or status-only changes, and the CA bundle is injected into
// annotated ClusterPolicies once Kyverno's CRD appears.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { eventually, useTestControlPlane, withNamespace } from '@kna/e2e';
import { BUNDLE_KEY, parseBundle } from '@kna/shared';
import { createCa } from './certificates/pki.js';
import { BUNDLE_VERSION_LABEL, ORIGINAL_FINALIZER } from './resources.js';
import {
  CLUSTER_POLICY_CRD,
  applyProductCrds,
  countConfigMapWrites,
  startTestOperator,
  testFlags,
  trustPolicy,
  trustStore,
  waitReady,
} from './testing/cluster.js';
import { startOperator } from './operator.js';

const YEAR = 365 * 24 * 3_600_000;
const kube = useTestControlPlane();

/** `kubectl get <kind>` as rows of cells keyed by NAME. */
async function rows(kind: string, wide = false): Promise<Map<string, string[]>> {
  const out = await kube().kubectl(['get', kind, ...(wide ? ['-o', 'wide'] : [])]);
  const lines = out.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
  return new Map(lines.slice(1).map((cells) => [cells[0] ?? '', cells]));
}

async function readyOf(plural: string, name: string): Promise<{ status?: string; reason?: string; message?: string; bundleVersion?: string }> {
  const co = kube().kubeConfig().makeApiClient(CustomObjectsApi);
  const object = (await co.getClusterCustomObject({ group: 'notation.nirmata.io', version: 'v1alpha1', plural, name })) as {
    status?: { bundleVersion?: string; conditions?: { type: string; status: string; reason: string; message: string }[] };
  };
  const ready = object.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    ...(ready && { status: ready.status, reason: ready.reason, message: ready.message }),
    ...(object.status?.bundleVersion !== undefined && { bundleVersion: object.status.bundleVersion }),
  };
}

describe('the operator', () => {
  before(() => applyProductCrds(kube()));

  it('reconciles TrustPolicies and TrustStores into the bundle and a truthful status, writing only on change', async () => {
    await withNamespace(kube(), async (namespace) => {
      const now = new Date();
      const ca = await createCa({ commonName: 'Test Signer Root', now, validityMs: YEAR });
      const expired = await createCa({ commonName: 'Expired Root', now: new Date(now.getTime() - 3 * YEAR), validityMs: YEAR });
      const apply = (json: string) => kube().kubectl(['apply', '-f', '-'], { input: json });
      await apply(trustStore('good', ca.cert.pem, { finalizers: [ORIGINAL_FINALIZER] }));
      await apply(trustStore('expired', expired.cert.pem));
      await apply(trustStore('badpem', '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n'));
      await apply(trustPolicy('tp-good', { store: 'good', finalizers: [ORIGINAL_FINALIZER] }));
      await apply(trustPolicy('tp-missing-store', { store: 'nope' }));
      await apply(trustPolicy('tp-star', { store: 'good', identities: ['*'] }));
      await apply(trustPolicy('tp-expired', { store: 'expired' }));
      await apply(trustPolicy('tp-zz-dup', { store: 'good', trustPolicyName: 'tp-good' }));
      await kube().kubectl(['-n', namespace, 'create', 'configmap', 'notation-plugin-config', '--from-literal=aws-region=us-west-2']);

      const bundleWrites = await countConfigMapWrites(kube(), namespace, 'kyverno-notation-aws-bundle');
      try {
        let operator = await startTestOperator(kube(), namespace);
        try {
          await waitReady(operator);
          await eventually(async () => assert.equal((await readyOf('trustpolicies', 'tp-good')).status, 'True'), { timeoutMs: 60_000 });
        } catch (err) {
          await operator.stop();
          throw err;
        }

        // Every object's Ready with its reason, as kubectl shows it.
        const expected: [string, string, string, string][] = [
          ['trustpolicies', 'tp-good', 'True', 'InBundle'],
          ['trustpolicies', 'tp-missing-store', 'False', 'UnknownTrustStore'],
          ['trustpolicies', 'tp-star', 'False', 'WildcardIdentityNotSupported'],
          ['trustpolicies', 'tp-expired', 'False', 'TrustStoreNotReady'],
          ['trustpolicies', 'tp-zz-dup', 'False', 'DuplicateName'],
          ['truststores', 'good', 'True', 'InBundle'],
          ['truststores', 'expired', 'False', 'CertificateExpired'],
          ['truststores', 'badpem', 'False', 'InvalidCertificate'],
        ];
        await eventually(
          async () => {
            for (const [plural, name, status, reason] of expected) {
              const ready = await readyOf(plural, name);
              assert.deepEqual([name, ready.status, ready.reason], [name, status, reason], ready.message);
            }
          },
          { timeoutMs: 60_000 },
        );
        const missing = await readyOf('trustpolicies', 'tp-missing-store');
        assert.match(missing.message ?? '', /trust store "signingAuthority:nope" does not exist; create a TrustStore/);

        const tp = await rows('tp');
        const goodRow = tp.get('tp-good');
        assert.ok(goodRow, `no tp-good row in ${JSON.stringify([...tp])}`);
        assert.deepEqual(goodRow.slice(1, 4), ['tp-good', 'True', 'InBundle']);
        assert.match(goodRow[4] ?? '', /^[0-9a-f]{12}$/, 'BUNDLE shows the short bundle version');
        assert.deepEqual(tp.get('tp-star')?.slice(1, 4), ['tp-star', 'False', 'WildcardIdentityNotSupported']);
        const ts = await rows('ts', true);
        const header = (await kube().kubectl(['get', 'ts', '-o', 'wide'])).stdout.split('\n')[0] ?? '';
        assert.match(header, /CERTS/);
        assert.match(header, /EXPIRES/);
        assert.ok(ts.get('good')?.includes('True'), JSON.stringify(ts.get('good')));
        assert.ok(ts.get('expired')?.includes('CertificateExpired'), JSON.stringify(ts.get('expired')));

        // The bundle holds the valid policy (and the store it uses) only, its version in the label.
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        const cm = await core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-bundle', namespace });
        const text = cm.data?.[BUNDLE_KEY] ?? '';
        const bundle = parseBundle(text);
        assert.deepEqual(Object.keys(bundle.trustPolicies), ['tp-good']);
        assert.deepEqual(Object.keys(bundle.trustStores), ['signingAuthority:good']);
        assert.deepEqual(bundle.pluginConfig, { 'aws-region': 'us-west-2' });
        assert.equal(cm.metadata?.labels?.[BUNDLE_VERSION_LABEL], bundle.version.slice(0, 12));
        assert.equal((await readyOf('trustpolicies', 'tp-good')).bundleVersion, bundle.version);

        // The original's finalizer is gone, so deletes do not hang.
        const co = kube().kubeConfig().makeApiClient(CustomObjectsApi);
        const good = (await co.getClusterCustomObject({ group: 'notation.nirmata.io', version: 'v1alpha1', plural: 'truststores', name: 'good' })) as {
          metadata: { finalizers?: string[] };
        };
        assert.deepEqual(good.metadata.finalizers ?? [], []);

        // Ready transitions are Events (cluster-scoped objects: the API server accepts them only in namespace default).
        await eventually(async () => {
          const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=tp-star' });
          assert.ok(
            events.items.some((e) => e.reason === 'WildcardIdentityNotSupported' && e.type === 'Warning'),
            JSON.stringify(events.items.map((e) => e.reason)),
          );
        });

        await eventually(() => assert.equal(bundleWrites.writes.length, 1, `writes at ${bundleWrites.writes.join(',')}`));

        // A restart with the same inputs: the same bytes, no write.
        await operator.stop();
        operator = await startTestOperator(kube(), namespace);
        try {
          await waitReady(operator);
          await eventually(() => assert.ok(operator.lastReport()?.bundle === 'unchanged', JSON.stringify(operator.lastReport())));
          const again = await core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-bundle', namespace });
          assert.equal(again.data?.[BUNDLE_KEY], text, 'byte-identical across restarts');
          assert.equal(again.metadata?.resourceVersion, cm.metadata.resourceVersion);

          // A status-only change of an object (someone edits the status): no bundle write, the status is restored.
          await kube().kubectl([
            'patch',
            'tp',
            'tp-good',
            '--subresource=status',
            '--type=merge',
            '-p',
            JSON.stringify({ status: { policyVersion: 'tampered' } }),
          ]);
          await eventually(async () => {
            const object = (await co.getClusterCustomObject({
              group: 'notation.nirmata.io',
              version: 'v1alpha1',
              plural: 'trustpolicies',
              name: 'tp-good',
            })) as { status?: { policyVersion?: string } };
            assert.equal(object.status?.policyVersion, bundle.trustPolicies['tp-good']?.version);
          });

          // One content change: exactly one write, and the fixed store brings its policy in.
          await apply(trustStore('expired', ca.cert.pem));
          await eventually(async () => assert.equal((await readyOf('trustpolicies', 'tp-expired')).status, 'True'), { timeoutMs: 60_000 });
          await eventually(() => assert.ok(operator.lastReport()?.bundle === 'unchanged'));
          assert.equal(bundleWrites.writes.length, 2, `writes at ${bundleWrites.writes.join(',')}`);
          const updated = parseBundle((await core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-bundle', namespace })).data?.[BUNDLE_KEY] ?? '');
          assert.deepEqual(Object.keys(updated.trustPolicies), ['tp-expired', 'tp-good']);

          // Deleting an object that carried the original's finalizer completes.
          await kube().kubectl(['delete', 'tp', 'tp-good', '--timeout=30s']);
          await eventually(async () => {
            const after = parseBundle((await core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-bundle', namespace })).data?.[BUNDLE_KEY] ?? '');
            // The duplicate now owns the name.
            assert.deepEqual(Object.keys(after.trustPolicies), ['tp-expired', 'tp-good']);
            assert.equal((await readyOf('trustpolicies', 'tp-zz-dup')).status, 'True');
          });
        } finally {
          await operator.stop();
        }
      } finally {
        await bundleWrites.stop();
      }
    });
  });

  it('injects the CA bundle into annotated ClusterPolicies once the CRD appears, only into apiCalls to the Service', async () => {
    await withNamespace(kube(), async (namespace) => {
      const operator = await startTestOperator(kube(), namespace, ['--pluginConfigMap=']);
      try {
        await waitReady(operator);
        // The CRD arrives after the operator started: injection turns on by itself.
        await kube().kubectl(['apply', '-f', '-'], { input: CLUSTER_POLICY_CRD });
        await kube().kubectl(['wait', '--for=condition=Established', 'crd/clusterpolicies.kyverno.io', '--timeout=60s']);
        const rule = (url: string) => ({ name: 'check', context: [{ name: 'response', apiCall: { method: 'POST', service: { url } } }] });
        const policy = (name: string, annotated: boolean, urls: string[]) =>
          JSON.stringify({
            apiVersion: 'kyverno.io/v1',
            kind: 'ClusterPolicy',
            metadata: { name, ...(annotated && { annotations: { 'notation.nirmata.io/inject-ca': 'true' } }) },
            spec: { rules: urls.map((u, i) => ({ ...rule(u), name: `r${i}` })) },
          });
        const target = `https://svc.${namespace}.svc/checkimages`;
        await eventually(() =>
          kube().kubectl(['apply', '-f', '-'], {
            input: policy(`annotated-${namespace}`, true, [target, 'https://other.example/x', `https://svc.${namespace}:443/y`]),
          }),
        );
        await kube().kubectl(['apply', '-f', '-'], { input: policy(`plain-${namespace}`, false, [target]) });

        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        const co = kube().kubeConfig().makeApiClient(CustomObjectsApi);
        type Policy = { spec: { rules: { context: { apiCall: { service: { url: string; caBundle?: string } } }[] }[] } };
        const read = async (name: string) =>
          (await co.getClusterCustomObject({ group: 'kyverno.io', version: 'v1', plural: 'clusterpolicies', name })) as Policy;
        const caBundles = (p: Policy) => p.spec.rules.map((r) => r.context[0]?.apiCall.service.caBundle);
        const injected = await eventually(
          async () => {
            const caPem = (await core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-ca', namespace })).data?.['ca.crt'];
            assert.ok(caPem !== undefined && caPem.includes('BEGIN CERTIFICATE'));
            const p = await read(`annotated-${namespace}`);
            assert.deepEqual(caBundles(p), [caPem, undefined, caPem]);
            return p;
          },
          { timeoutMs: 60_000 },
        );
        assert.ok(injected);
        assert.deepEqual(caBundles(await read(`plain-${namespace}`)), [undefined]);
      } finally {
        await operator.stop();
      }
    });
  });

  it('recovers its watches after the API server was down for 30 s and reconciles what changed meanwhile, without a restart', async () => {
    await withNamespace(kube(), async (namespace) => {
      const ca = await createCa({ commonName: 'Outage Root', now: new Date(), validityMs: YEAR });
      const apply = (json: string) => kube().kubectl(['apply', '-f', '-'], { input: json });
      await apply(trustStore(`outage-${namespace}`, ca.cert.pem));
      await apply(trustPolicy(`before-${namespace}`, { store: `outage-${namespace}` }));
      // The production back-off (up to 30 s between attempts) and a lease that outlives the outage: the renew
      // deadline is what would otherwise end this leader, which is right but not the subject here.
      const operator = await startOperator({
        flags: testFlags(namespace, ['--leader-elect-lease-duration=90s', '--leader-elect-renew-deadline=80s', '--leader-elect-retry-period=2s']),
        kubeConfig: kube().kubeConfig(),
        log: pino({ level: process.env.KNA_TEST_LOG ?? 'warn' }),
      });
      try {
        await waitReady(operator);
        await eventually(async () => assert.equal((await readyOf('trustpolicies', `before-${namespace}`)).status, 'True'), { timeoutMs: 60_000 });

        await kube().stopApiServer();
        await sleep(30_000);
        await kube().startApiServer();
        // Made as soon as the API server is back, while the operator is still waiting out its back-off.
        await apply(trustPolicy(`during-${namespace}`, { store: `outage-${namespace}` }));

        await eventually(async () => assert.equal((await readyOf('trustpolicies', `during-${namespace}`)).status, 'True'), { timeoutMs: 120_000 });
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        const bundle = parseBundle((await core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-bundle', namespace })).data?.[BUNDLE_KEY] ?? '');
        assert.ok(Object.keys(bundle.trustPolicies).includes(`during-${namespace}`));
        const metrics = await (await fetch(`${operator.metricsUrl ?? ''}/metrics`)).text();
        assert.match(
          metrics,
          /kna_operator_list_failures_total\{resource="trustpolicies",status="0"\} [1-9]|kna_operator_watch_restarts_total\{resource="trustpolicies",reason="(error|gone)"\} [1-9]/,
        );
        assert.ok(operator.isLeader(), 'still the leader: the same process recovered');
      } finally {
        await operator.stop();
        // Never leave the suite's control plane without its API server.
        await kube().startApiServer();
      }
    });
  });

  it('reports an oversized bundle on every object and writes nothing', async () => {
    await withNamespace(kube(), async (namespace) => {
      const ca = await createCa({ commonName: 'Large Root', now: new Date(), validityMs: YEAR });
      await kube().kubectl(['apply', '-f', '-'], { input: trustStore(`large-${namespace}`, ca.cert.pem) });
      await kube().kubectl(['apply', '-f', '-'], { input: trustPolicy(`large-${namespace}`, { store: `large-${namespace}` }) });
      const operator = await startOperator({
        flags: testFlags(namespace, ['--pluginConfigMap=', '--inject-ca=false']),
        kubeConfig: kube().kubeConfig(),
        log: pino({ level: process.env.KNA_TEST_LOG ?? 'warn' }),
        maxBundleBytes: 1_000,
      });
      try {
        await eventually(
          async () => {
            for (const [plural, name] of [
              ['trustpolicies', `large-${namespace}`],
              ['truststores', `large-${namespace}`],
            ] as const) {
              const ready = await readyOf(plural, name);
              assert.deepEqual([ready.status, ready.reason], ['False', 'BundleTooLarge'], ready.message);
              assert.match(ready.message ?? '', /over the 1000-byte limit of its ConfigMap, so it was not written/);
            }
          },
          { timeoutMs: 60_000 },
        );
        // The statuses are written inside the reconcile; its report is recorded when the whole run ends.
        await eventually(() => assert.equal(operator.lastReport()?.bundle, 'too-large'), { timeoutMs: 60_000 });
        const core = kube().kubeConfig().makeApiClient(CoreV1Api);
        await assert.rejects(
          core.readNamespacedConfigMap({ name: 'kyverno-notation-aws-bundle', namespace }),
          (err: unknown) => (err as { code?: number }).code === 404,
        );
      } finally {
        await operator.stop();
      }
    });
  });
});
