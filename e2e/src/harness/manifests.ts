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
  /** Statement name; default `<policy>-statement` (`<policy>-statement-<n>` when there are several). */
  readonly name?: string;
  readonly scopes: readonly string[];
  /** Default strict. */
  readonly level?: string;
  /** Trust store name; default harness-root. */
  readonly store?: string;
  /** Trusted signing profile ARNs. */
  readonly identities: readonly string[];
}

/** A TrustPolicy with one statement, or several (notation picks one per image by its registry scopes). */
export function trustPolicyManifest(name: string, statements: StatementSpec | readonly StatementSpec[]): string {
  const list: readonly StatementSpec[] = Array.isArray(statements) ? statements : [statements as StatementSpec];
  const rendered = list.map((statement, i) => {
    const level = statement.level ?? 'strict';
    const skip = level === 'skip';
    const statementName = statement.name ?? (list.length === 1 ? `${name}-statement` : `${name}-statement-${i}`);
    return `    - name: ${statementName}
      registryScopes: ${JSON.stringify(statement.scopes)}
      signatureVerification: {level: ${level}}
      trustStores: ${JSON.stringify(skip ? [] : [`signingAuthority:${statement.store ?? 'harness-root'}`])}
      trustedIdentities: ${JSON.stringify(skip ? [] : statement.identities)}
`;
  });
  return `apiVersion: notation.nirmata.io/v1alpha1
kind: TrustPolicy
metadata: {name: ${name}}
spec:
  version: "1.0"
  trustPolicyName: ${name}
  trustPolicies:
${rendered.join('')}`;
}

export function pluginConfigMapManifest(config: Readonly<Record<string, string>>): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notation-plugin-config}\ndata: ${JSON.stringify(config)}\n`;
}
