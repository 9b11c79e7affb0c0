// The whole path on real components: a TrustPolicy edit in the API server → the operator's bundle ConfigMap → the
// kubelet's projection of it (the kubelet mirror) → a running verifier process's answer for a signed image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, pluginConfigMapManifest, push, sign, startHarness, startKubeletMirror, useTestControlPlane, withNamespace, type Harness } from '@kna/e2e';
import { applyProductCrds, spawnBundleVerifier, startTestOperator, trustPolicy, trustStore } from './testing/cluster.js';

const kube = useTestControlPlane();
let harness: Harness;

describe('a TrustPolicy edit', () => {
  before(async () => {
    harness = await startHarness();
    await applyProductCrds(kube());
  });
  after(() => harness.stop());

  it("changes a running verifier's answer through the mirrored bundle", async () => {
    await withNamespace(kube(), async (namespace) => {
      const repository = `${harness.registry}/demo/app`;
      const { digest } = await push(`${repository}:v1`);
      await sign(harness, `${repository}@${digest}`);
      const apply = (json: string) => kube().kubectl(['apply', '-f', '-'], { input: json });
      const store = `harness-root-${namespace}`;
      await apply(trustStore(store, readFileSync(harness.rootCert, 'utf8')));
      await apply(trustPolicy(`tp-${namespace}`, { store, scopes: [repository], identities: [harness.profileArn] }));
      await kube().kubectl(['-n', namespace, 'apply', '-f', '-'], { input: pluginConfigMapManifest(harness.pluginConfig) });

      const scratch = mkdtempSync(join(tmpdir(), 'kna-answer-'));
      const operator = await startTestOperator(kube(), namespace, ['--inject-ca=false']);
      const mirror = await startKubeletMirror({
        kubeConfig: kube().kubeConfig(),
        namespace,
        kind: 'ConfigMap',
        name: 'kyverno-notation-aws-bundle',
        dir: join(scratch, 'bundle'),
      });
      const verifier = await spawnBundleVerifier({ bundleDir: mirror.dir, logFile: join(scratch, 'verifier.log'), pluginEnv: harness.pluginEnv });
      try {
        await mirror.synced();
        const ask = async () => {
          const res = await fetch(`http://127.0.0.1:${verifier.port}/checkimages`, {
            method: 'POST',
            body: JSON.stringify({
              trustPolicy: `tp-${namespace}`,
              images: {
                containers: { app: { registry: harness.registry, path: 'demo/app', name: 'app', tag: 'v1', jsonPointer: '/spec/containers/0/image' } },
              },
            }),
          });
          return { status: res.status, text: await res.text() };
        };
        const first = await eventually(
          async () => {
            const answer = await ask();
            assert.equal(answer.status, 200, answer.text);
            return answer;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        assert.match(first.text, /"verified":true/);

        // The same image is no longer trusted once the policy names another signing profile.
        await apply(
          trustPolicy(`tp-${namespace}`, { store, scopes: [repository], identities: ['arn:aws:signer:us-west-2:111122223333:/signing-profiles/someone-else'] }),
        );
        const denied = await eventually(
          async () => {
            const answer = await ask();
            assert.equal(answer.status, 406, answer.text);
            return answer;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        assert.match(denied.text, /container "app" image/);
      } finally {
        await verifier.stop();
        await mirror.close();
        await operator.stop();
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  });
});
