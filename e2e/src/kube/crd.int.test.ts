// CRDs on the real API server: what the product's TrustPolicy/TrustStore rely on (docs/architecture.md "Custom resources") —
// `kubectl apply` of a CRD, OpenAPI validation, the status subresource, and the printer columns that
// `kubectl get` shows (server-side Table printing), including a priority-1 column only in `-o wide`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { eventually, useTestControlPlane } from './testing.js';

const CRD = readFileSync(new URL('testdata/widgets-crd.yaml', import.meta.url), 'utf8');
const GROUP = 'e2e.kna.example';

function widget(name: string, size: number, extra = ''): string {
  return `apiVersion: ${GROUP}/v1alpha1\nkind: Widget\nmetadata:\n  name: ${name}\nspec:\n  size: ${size}\n${extra}`;
}

/** `kubectl get` output as rows of cells (columns are separated by runs of spaces; no cell here has one). */
function table(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
}

// A fresh control plane: the CRD is cluster-scoped, so a shared one would see other suites' CRDs.
const kube = useTestControlPlane();

describe('a CRD applied with kubectl', () => {
  it('is established, served, validated, and printed with its columns', async () => {
    const applied = await kube().kubectl(['apply', '-f', '-'], { input: CRD });
    assert.match(applied.stdout, /customresourcedefinition.apiextensions.k8s.io\/widgets.e2e.kna.example created/);
    await kube().kubectl(['wait', '--for=condition=Established', 'crd/widgets.e2e.kna.example', '--timeout=120s']);

    // Established means the handler serves; kubectl's discovery may still need a moment to list the
    // new group, which shows as "no matches for kind" (or "resource mapping not found").
    await eventually(() => kube().kubectl(['apply', '-f', '-'], { input: widget('alpha', 3) }));
    await kube().kubectl(['apply', '-f', '-'], { input: widget('beta', 7) });

    const invalid = await kube().kubectl(['apply', '-f', '-'], { input: widget('gamma', 0), allowFailure: true });
    assert.notEqual(invalid.status, 0);
    assert.match(invalid.stderr, /spec\.size: Invalid value: 0: spec\.size in body should be greater than or equal to 1/);

    // Status goes through the status subresource only.
    await kube().kubectl([
      'patch',
      'widget',
      'alpha',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled' }] } }),
    ]);
    const co = kube().kubeConfig().makeApiClient(CustomObjectsApi);
    await co.patchClusterCustomObject({
      group: GROUP,
      version: 'v1alpha1',
      plural: 'widgets',
      name: 'beta',
      body: [{ op: 'add', path: '/status', value: { conditions: [{ type: 'Ready', status: 'False', reason: 'Ignored' }] } }],
    });
    const beta = (await co.getClusterCustomObject({ group: GROUP, version: 'v1alpha1', plural: 'widgets', name: 'beta' })) as {
      status?: unknown;
    };
    assert.equal(beta.status, undefined, 'a status written through the main resource must be dropped');

    const plain = table((await kube().kubectl(['get', 'widgets'])).stdout);
    assert.deepEqual(plain[0], ['NAME', 'SIZE', 'READY', 'AGE']);
    const alpha = plain.find((row) => row[0] === 'alpha');
    assert.ok(alpha, `no row for alpha in ${JSON.stringify(plain)}`);
    assert.deepEqual(alpha.slice(0, 3), ['alpha', '3', 'True']);
    assert.match(alpha[3] ?? '', /^\d+s$/);
    // No Ready condition: the READY cell is blank, so the row splits into NAME, SIZE and AGE only.
    const betaRow = plain.find((row) => row[0] === 'beta');
    assert.ok(betaRow, `no row for beta in ${JSON.stringify(plain)}`);
    assert.deepEqual(betaRow.slice(0, 2), ['beta', '7']);
    assert.equal(betaRow.length, 3);

    const wide = table((await kube().kubectl(['get', 'wg', 'alpha', '-o', 'wide'])).stdout);
    assert.deepEqual(wide[0], ['NAME', 'SIZE', 'READY', 'REASON', 'AGE']);
    assert.deepEqual(wide[1]?.slice(0, 4), ['alpha', '3', 'True', 'Reconciled']);
  });
});
