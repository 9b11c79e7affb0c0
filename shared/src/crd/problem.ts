// Problems found in a TrustPolicy / TrustStore: where (a JSON path such as
// `spec.trustPolicies[0].registryScopes[1]`), what is wrong and how to fix it, and the Ready condition reason the
// operator reports (docs/architecture.md "Custom resources": "a message that says what to fix").

/** Ready condition reasons (CamelCase, as Kubernetes conventions ask). */
export const Reason = {
  /** Valid and in the served bundle. */
  InBundle: 'InBundle',
  /** A field is missing or has the wrong type or an unknown enum value (the CRD schema). */
  InvalidSpec: 'InvalidSpec',
  /** Breaks a notation trust-policy rule (version, names, levels, overrides, stores/identities presence). */
  InvalidTrustPolicy: 'InvalidTrustPolicy',
  InvalidRegistryScope: 'InvalidRegistryScope',
  InvalidTrustStoreReference: 'InvalidTrustStoreReference',
  InvalidTrustedIdentity: 'InvalidTrustedIdentity',
  /** `*` trusted identity with AWS Signer (signingAuthority) stores: the AWS plugin rejects it. */
  WildcardIdentityNotSupported: 'WildcardIdentityNotSupported',
  /** A referenced trust store does not exist. */
  UnknownTrustStore: 'UnknownTrustStore',
  /** A referenced trust store exists but is not Ready itself. */
  TrustStoreNotReady: 'TrustStoreNotReady',
  /** Another object already uses the same trustPolicyName / type and trustStoreName. */
  DuplicateName: 'DuplicateName',
  InvalidTrustStoreName: 'InvalidTrustStoreName',
  /** caBundle is not PEM certificates. */
  InvalidCertificate: 'InvalidCertificate',
  /** A certificate is neither a CA nor self-signed (notation's trust store rule), or a tsa cert is not a root. */
  NotCACertificate: 'NotCACertificate',
  CertificateExpired: 'CertificateExpired',
  /** The whole bundle would exceed the ConfigMap size limit; nothing was written. */
  BundleTooLarge: 'BundleTooLarge',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface Problem {
  /** JSON path of the offending value, e.g. `spec.trustPolicies[0].name`; `` for the whole object. */
  path: string;
  /** What is wrong and what to do about it. */
  message: string;
  reason: Reason;
}

/** Appends a property name or an array index to a JSON path in `a.b[0]["odd key"]` form. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** `path: message` lines, for logs and error messages. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('\n');
}
