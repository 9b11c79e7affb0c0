import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Outcome } from '../errors.js';
import { ORIGINAL_SAMPLES, ROOT_CA } from '../trust-policy/testdata.js';
import { ERR_INVALID_MANIFESTS, parseManifests } from './manifests.js';

const PLUGIN_CONFIG = `apiVersion: v1
kind: ConfigMap
metadata:
  name: notation-plugin-config
  namespace: kyverno-notation-aws
data:
  aws-region: us-west-2
`;

function errorOf(text: string, source?: string): string {
  try {
    parseManifests(text, source);
  } catch (err) {
    assert.ok(err instanceof ERR_INVALID_MANIFESTS);
    assert.equal(err.outcome, Outcome.Configuration);
    return err.message;
  }
  assert.fail('expected ERR_INVALID_MANIFESTS');
}

describe('parseManifests', () => {
  it('reads the original samples and a plugin ConfigMap', () => {
    const parsed = parseManifests(`${ORIGINAL_SAMPLES}---\n${PLUGIN_CONFIG}---\n`, 'samples.yaml');
    assert.deepEqual(
      parsed.trustPolicies.map((p) => [p.metadata.name, p.spec.trustPolicyName, p.spec.trustPolicies[0]?.signatureVerification]),
      [
        ['tp-test-notation', 'tp-test-notation', { level: 'strict', override: {} }],
        ['tp-test-notation-fail', 'tp-test-notation-fail', { level: 'strict', override: {} }],
      ],
    );
    assert.deepEqual(
      parsed.trustStores.map((s) => [s.metadata.name, s.spec.type, s.spec.caBundle]),
      [
        ['aws-signer-ts', 'signingAuthority', ROOT_CA.trimEnd()],
        ['aws-signer-ts-fail', 'signingAuthority', parsed.trustStores[1]?.spec.caBundle],
      ],
    );
    assert.deepEqual(parsed.configMaps, [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'notation-plugin-config', namespace: 'kyverno-notation-aws' },
        data: { 'aws-region': 'us-west-2' },
      },
    ]);
  });

  it('reads JSON, a kind: List, and drops a status exported with kubectl get -o yaml', () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'notation.nirmata.io/v1alpha1',
          kind: 'TrustStore',
          metadata: { name: 'ts', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z' },
          spec: { trustStoreName: 'ts', type: 'tsa', caBundle: ROOT_CA },
          status: { conditions: [{ type: 'Ready', status: 'True' }], somethingNew: 1 },
        },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty' } },
      ],
    });
    const parsed = parseManifests(list, 'list.json');
    assert.equal(parsed.trustStores.length, 1);
    assert.equal('status' in (parsed.trustStores[0] ?? {}), false);
    assert.equal(parsed.trustStores[0]?.metadata.uid, 'u');
    assert.deepEqual(parsed.configMaps, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty' } }]);
    assert.deepEqual(parseManifests('', 'empty.yaml'), { trustPolicies: [], trustStores: [], configMaps: [] });
    assert.deepEqual(parseManifests('---\n# nothing\n---\n'), { trustPolicies: [], trustStores: [], configMaps: [] });
  });

  it('names the file, document, object and JSON path of every problem', () => {
    const message = errorOf(
      `apiVersion: notation.nirmata.io/v1alpha1
kind: TrustPolicy
metadata:
  name: tp
spec:
  version: 1.0
  trustPolicyName: tp
  trustPolicies:
  - name: s
    registryScope: ["*"]
    signatureVerification:
      level: Strict
---
apiVersion: notation.nirmata.io/v1
kind: TrustStore
metadata: {}
spec:
  trustStoreName: ts
  type: signingAuthority
  caBundle: x
  extra: 1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: notation-plugin-config
data:
  aws-region: us-west-2
  debug: on
  retries: 3
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
---
- just
- a list
`,
      'policies/broken.yaml',
    );
    assert.equal(
      message,
      [
        'invalid manifests in policies/broken.yaml:',
        '  document 1 (TrustPolicy "tp"): spec.version: must be one of "1.0", got number 1 (quote it in YAML so that it is a string)',
        '  document 1 (TrustPolicy "tp"): spec.trustPolicies[0].registryScopes: is required',
        '  document 1 (TrustPolicy "tp"): spec.trustPolicies[0].registryScope: unknown field (check the spelling; the API server would drop it)',
        '  document 1 (TrustPolicy "tp"): spec.trustPolicies[0].signatureVerification.level: must be one of "strict", "permissive", "audit", "skip", got string "Strict"',
        '  document 2 (TrustStore): apiVersion: must be "notation.nirmata.io/v1alpha1" for TrustStore, got "notation.nirmata.io/v1"',
        '  document 2 (TrustStore): metadata.name: is required (a non-empty string)',
        '  document 2 (TrustStore): spec.extra: unknown field (check the spelling; the API server would drop it)',
        '  document 3 (ConfigMap "notation-plugin-config"): data.debug: must be a string, got true (quote the value in YAML)',
        '  document 3 (ConfigMap "notation-plugin-config"): data.retries: must be a string, got 3 (quote the value in YAML)',
        '  document 4: kind "Deployment" (apps/v1) is not supported here; the policy directory takes TrustPolicy, TrustStore and ConfigMap manifests',
        '  document 5: expected a Kubernetes object (a mapping with apiVersion and kind)',
      ].join('\n'),
    );
  });

  it('reports YAML syntax errors and duplicate keys with their document', () => {
    assert.match(errorOf('kind: TrustStore\n  bad: [\n', 'a.yaml'), /^invalid manifests in a\.yaml:\n {2}document 1: YAML error: /);
    assert.match(errorOf('---\nkind: ConfigMap\nkind: ConfigMap\n'), /^invalid manifests in <manifests>:\n {2}document 1: YAML error: Map keys must be unique/);
    assert.match(errorOf('{}\n'), /document 1: the object has no kind; the policy directory takes/);
    assert.match(
      errorOf('apiVersion: notation.nirmata.io/v1alpha1\nkind: TrustPolicy\nmetadata: {name: a}\n'),
      /document 1 \(TrustPolicy "a"\): spec: is required/,
    );
    assert.match(errorOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: [1]\n'), /data: must be a mapping/);
    assert.match(errorOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nspec: {}\n'), /spec: unknown field/);
  });
});
