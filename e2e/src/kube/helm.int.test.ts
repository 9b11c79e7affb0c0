// helm against the real API server: what the product's chart tests will do (lint, template, install,
// uninstall). The fixture chart has Kyverno's kubeVersion constraint, so these also prove that helm and
// kube-apiserver were built with their version ldflags (README "Test components").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { useTestControlPlane, withNamespace } from './testing.js';

const CHART = fileURLToPath(new URL('testdata/chart', import.meta.url));

interface ConfigMap {
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

const kube = useTestControlPlane({ shared: true });

describe('helm', () => {
  it('lints and renders the chart offline with Kubernetes 1.35 capabilities', async () => {
    const lint = await kube().helm(['lint', CHART]);
    assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);

    const rendered = await kube().helm(['template', 'demo', CHART, '--namespace', 'rendered', '--set', 'greeting=hi']);
    const docs = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS() as ConfigMap | null)
      .filter((d) => d !== null);
    assert.equal(docs.length, 1);
    const [cm] = docs;
    assert.equal(cm?.kind, 'ConfigMap');
    assert.equal(cm.metadata?.name, 'demo-settings');
    // Offline, helm's built-in capabilities apply: v1.<minor>.0 from its ldflags (v1.20.0 without them).
    assert.deepEqual(cm.data, { greeting: 'hi', kubeVersion: 'v1.35.0', namespace: 'rendered' });
  });

  it('installs, lists and uninstalls a release', () =>
    withNamespace(kube(), async (ns) => {
      const core = kube().kubeConfig().makeApiClient(CoreV1Api);
      const installed = await kube().helm(['install', 'demo', CHART, '--namespace', ns, '--set', 'greeting=hello from helm']);
      assert.match(installed.stdout, /STATUS: deployed/);

      const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'demo-settings' });
      // Installed, helm asks the API server, whose /version comes from kube-apiserver's ldflags.
      assert.deepEqual(cm.data, { greeting: 'hello from helm', kubeVersion: 'v1.35.4', namespace: ns });
      assert.equal(cm.metadata?.labels?.['app.kubernetes.io/managed-by'], 'Helm');

      const listed = JSON.parse((await kube().helm(['list', '--namespace', ns, '--output', 'json'])).stdout) as { name: string; status: string }[];
      assert.deepEqual(
        listed.map((r) => [r.name, r.status]),
        [['demo', 'deployed']],
      );
      const releaseSecrets = await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=demo' });
      assert.equal(releaseSecrets.items.length, 1);

      const uninstalled = await kube().helm(['uninstall', 'demo', '--namespace', ns]);
      assert.match(uninstalled.stdout, /release "demo" uninstalled/);
      await assert.rejects(
        core.readNamespacedConfigMap({ namespace: ns, name: 'demo-settings' }),
        (err: unknown) => err instanceof ApiException && err.code === 404,
      );
      assert.equal((await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=demo' })).items.length, 0);
      assert.equal((await kube().helm(['list', '--namespace', ns, '--short'])).stdout.trim(), '');
    }));
});
