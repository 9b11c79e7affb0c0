// The TrustStore, TrustPolicy and plugin ConfigMap manifests users write (the same YAML `kubectl
// apply` takes and the verifier's local mode reads), for the demo, tests and benchmarks.

function indent(text: string, by: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

export function trustStoreManifest(name: string, pem: string): string {
  return `apiVersion: notation.nirmata.io/v1alpha1
kind: TrustStore
metadata: {name: ${name}}
spec:
  trustStoreName: ${name}
  type: signingAuthority
  caBundle: |
${indent(pem, '    ')}
`;
}

export interface StatementSpec {
  readonly scopes: readonly string[];
  /** Default strict. */
  readonly level?: string;
  /** Trust store name; default harness-root. */
  readonly store?: string;
  /** Trusted signing profile ARNs. */
  readonly identities: readonly string[];
}

export function trustPolicyManifest(name: string, statement: StatementSpec): string {
  const level = statement.level ?? 'strict';
  const skip = level === 'skip';
  return `apiVersion: notation.nirmata.io/v1alpha1
kind: TrustPolicy
metadata: {name: ${name}}
spec:
  version: "1.0"
  trustPolicyName: ${name}
  trustPolicies:
    - name: ${name}-statement
      registryScopes: ${JSON.stringify(statement.scopes)}
      signatureVerification: {level: ${level}}
      trustStores: ${JSON.stringify(skip ? [] : [`signingAuthority:${statement.store ?? 'harness-root'}`])}
      trustedIdentities: ${JSON.stringify(skip ? [] : statement.identities)}
`;
}

export function pluginConfigMapManifest(config: Readonly<Record<string, string>>): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notation-plugin-config}\ndata: ${JSON.stringify(config)}\n`;
}

