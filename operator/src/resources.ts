// What the operator watches and writes, by API group, version and plural.
import { GROUP, TRUST_POLICY_PLURAL, TRUST_STORE_PLURAL, VERSION, type ResourceRef } from '@kna/shared';

export const TRUST_POLICIES: ResourceRef = { group: GROUP, version: VERSION, plural: TRUST_POLICY_PLURAL };
export const TRUST_STORES: ResourceRef = { group: GROUP, version: VERSION, plural: TRUST_STORE_PLURAL };

/** Kyverno's ClusterPolicy (kyverno.io/v1), the target of CA injection. */
export const CLUSTER_POLICIES: ResourceRef = { group: 'kyverno.io', version: 'v1', plural: 'clusterpolicies' };

/** One ConfigMap, watched by name. */
export function configMapRef(namespace: string, name: string): ResourceRef {
  return { group: '', version: 'v1', plural: 'configmaps', namespace, fieldSelector: `metadata.name=${name}` };
}

/** The original's finalizer: it blocks deletes while the original is not running, so it is removed. */
export const ORIGINAL_FINALIZER = 'notation.nirmata.io/finalizer';

/** Label and annotation of the bundle ConfigMap: the short version (labels hold 63 characters) and the full one. */
export const BUNDLE_VERSION_LABEL = 'notation.nirmata.io/bundle-version';
export const BUNDLE_VERSION_ANNOTATION = 'notation.nirmata.io/bundle-version';

/** ClusterPolicies with this annotation set to "true" get the CA bundle injected. */
export const INJECT_CA_ANNOTATION = 'notation.nirmata.io/inject-ca';

/** The component name in Events and managed-by labels. */
export const COMPONENT = 'kyverno-notation-aws-operator';

/** Names derived from --name. */
export function releaseNames(name: string): { bundle: string; ca: string; lease: string } {
  return { bundle: `${name}-bundle`, ca: `${name}-ca`, lease: `${name}-operator` };
}
