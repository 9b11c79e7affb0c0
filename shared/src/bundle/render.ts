// renderBundle: every TrustPolicy and TrustStore (and the plugin config) → the bundle the verifiers load, and a
// status per object (docs/architecture.md "Custom resources" and "The bundle contract"). The operator runs it on each reconcile; local mode runs it on the policy
// directory, so both serve exactly the same thing. It is a pure, level-based function of its inputs: objects are
// processed in a canonical order and nothing time-dependent goes into the output text, so the same inputs in any
// order give byte-identical bundles (the operator writes only when the text changes). Invalid objects are
// reported and left out; they never block the valid ones. Only `now` (certificate expiry) can change a result.
import { canonicalScope } from '../image/reference.js';
import { canonicalJson } from '../canonical/canonical.js';
import { childPath, formatProblems, Reason, type Problem } from '../crd/problem.js';
import { TRUST_POLICY_KIND, type TrustPolicy, type TrustPolicySpec, type TrustPolicyStatement } from '../crd/trust-policy.js';
import { TRUST_STORE_KIND, type TrustStore, type TrustStoreSpec } from '../crd/trust-store.js';
import { validateTrustPolicySpec, validateTrustStoreSpec } from '../crd/validate.js';
import { inspectTrustStore } from '../trust-policy/certificates.js';
import { parseTrustStoreReference, validateTrustPolicyDocument, type TrustPolicyDocument } from '../trust-policy/document.js';
import {
  BUNDLE_API_VERSION,
  BUNDLE_MAX_BYTES,
  bundleVersion,
  policyVersion,
  referencedTrustStores,
  trustStoreKey,
  type Bundle,
  type BundleTrustPolicy,
  type BundleTrustStore,
} from './bundle.js';

/** The outcome for one TrustPolicy or TrustStore: what the operator writes into its status. */
export interface ObjectStatus {
  kind: typeof TRUST_POLICY_KIND | typeof TRUST_STORE_KIND;
  /** metadata.name */
  name: string;
  uid?: string;
  /** metadata.generation the status was computed from. */
  generation?: number;
  /** True when the object is in the bundle. */
  ready: boolean;
  reason: Reason;
  /** One line: where the object is used, or every problem with its path and what to fix. */
  message: string;
  /** The problems behind `ready: false` (empty when ready). */
  problems: Problem[];
  /** TrustPolicy: spec.trustPolicyName; TrustStore: "<type>:<trustStoreName>" (when the spec has them). */
  key?: string;
  /** TrustPolicy in the bundle: its policy version. */
  policyVersion?: string;
  /** TrustPolicy: the "<type>:<name>" stores it references that exist and are ready. */
  resolvedTrustStores?: string[];
  /** TrustStore: distinct certificates in caBundle. */
  certificateCount?: number;
  /** TrustStore: expiry of its first certificate to expire (RFC 3339). */
  earliestExpiry?: string;
}

export interface RenderInput {
  trustPolicies: readonly TrustPolicy[];
  trustStores: readonly TrustStore[];
  /** Data of the plugin ConfigMap (--pluginConfigMap), passed to the AWS Signer plugin. */
  pluginConfig: Readonly<Record<string, string>>;
  /** Time certificates are checked against (expiry); default: now. Never written into the bundle. */
  now?: Date;
  /** Size limit of `text` in bytes; default BUNDLE_MAX_BYTES. */
  maxBytes?: number;
}

export interface RenderResult {
  bundle: Bundle;
  /** canonicalJson(bundle): the exact ConfigMap value. */
  text: string;
  /** UTF-8 size of `text`. */
  bytes: number;
  /** `text` exceeds the limit: every status says so and the bundle must not be written. */
  tooLarge: boolean;
  /** One per input object, sorted by kind then metadata.name. */
  statuses: ObjectStatus[];
}

const MESSAGE_MAX = 4000;

function byName<T extends { metadata: { name: string } }>(a: T, b: T): number {
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function creationTime(object: { metadata: { creationTimestamp?: string | Date | undefined } }): number {
  const value = object.metadata.creationTimestamp;
  const time = value === undefined ? Number.NaN : new Date(value).getTime();
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/** Order in which objects claim a name: oldest first, then by metadata.name (deterministic, keeps incumbents). */
function claimOrder<T extends { metadata: { name: string; creationTimestamp?: string | Date | undefined } }>(a: T, b: T): number {
  return creationTime(a) - creationTime(b) || byName(a, b);
}

function problemsMessage(problems: readonly Problem[]): string {
  const text = formatProblems(problems).replace(/\n/g, '; ');
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX)}… (${problems.length} problems in all)` : text;
}

function baseStatus(kind: ObjectStatus['kind'], object: TrustPolicy | TrustStore): Omit<ObjectStatus, 'ready' | 'reason' | 'message' | 'problems'> {
  const status: Omit<ObjectStatus, 'ready' | 'reason' | 'message' | 'problems'> = { kind, name: object.metadata.name };
  if (object.metadata.uid !== undefined) status.uid = object.metadata.uid;
  if (object.metadata.generation !== undefined) status.generation = object.metadata.generation;
  return status;
}

function failed(base: Omit<ObjectStatus, 'ready' | 'reason' | 'message' | 'problems'>, problems: Problem[]): ObjectStatus {
  return { ...base, ready: false, reason: problems[0]?.reason ?? Reason.InvalidSpec, message: problemsMessage(problems), problems };
}

// The notation document of a TrustPolicy spec: the statements with only the fields notation knows, empty
// override/stores/identities left out (as the original wrote them, docs/architecture.md "The bundle contract").
function documentOf(spec: TrustPolicySpec): TrustPolicyDocument {
  return {
    version: '1.0',
    trustPolicies: spec.trustPolicies.map((s) => {
      const verification: TrustPolicyStatement['signatureVerification'] = { level: s.signatureVerification.level };
      if (s.signatureVerification.override && Object.keys(s.signatureVerification.override).length > 0)
        verification.override = { ...s.signatureVerification.override };
      if (s.signatureVerification.verifyTimestamp !== undefined) verification.verifyTimestamp = s.signatureVerification.verifyTimestamp;
      // Scopes in the canonical form the verifier gives notation image references in (lower-case host,
      // Docker Hub as docker.io/library/…), so that a scope written `Registry.Example.com/app` still applies.
      const statement: TrustPolicyStatement = { name: s.name, registryScopes: s.registryScopes.map(canonicalScope), signatureVerification: verification };
      if (s.trustStores && s.trustStores.length > 0) statement.trustStores = [...s.trustStores];
      if (s.trustedIdentities && s.trustedIdentities.length > 0) statement.trustedIdentities = [...s.trustedIdentities];
      return statement;
    }),
  };
}

interface StoreOutcome {
  object: TrustStore;
  status: ObjectStatus;
  store?: BundleTrustStore;
}

function renderTrustStores(trustStores: readonly TrustStore[], now: Date): StoreOutcome[] {
  // An array, not a map by metadata.name: local-mode manifests from several files may repeat a name.
  const outcomes: StoreOutcome[] = [];
  const byKey = new Map<string, StoreOutcome>();
  for (const object of [...trustStores].sort(claimOrder)) {
    const base = baseStatus(TRUST_STORE_KIND, object);
    const schema = validateTrustStoreSpec(object.spec);
    if (schema.length > 0) {
      outcomes.push({ object, status: failed(base, schema) });
      continue;
    }
    const spec: TrustStoreSpec = object.spec;
    const key = trustStoreKey(spec.type, spec.trustStoreName);
    base.key = key;
    const inspection = inspectTrustStore(spec, { now });
    base.certificateCount = inspection.certificateCount;
    if (inspection.earliestExpiry !== undefined) base.earliestExpiry = inspection.earliestExpiry;
    const owner = byKey.get(key);
    let outcome: StoreOutcome;
    if (owner !== undefined) {
      outcome = {
        object,
        status: failed(base, [
          {
            path: 'spec.trustStoreName',
            message: `TrustStore "${owner.object.metadata.name}" already provides "${key}" (the older object keeps it); choose another trustStoreName or delete one of them`,
            reason: Reason.DuplicateName,
          },
        ]),
      };
    } else if (inspection.problems.length > 0) {
      outcome = { object, status: failed(base, inspection.problems) };
      byKey.set(key, outcome);
    } else {
      outcome = {
        object,
        status: { ...base, ready: true, reason: Reason.InBundle, message: '', problems: [] },
        store: { type: spec.type, name: spec.trustStoreName, certificates: inspection.certificates },
      };
      byKey.set(key, outcome);
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

interface PolicyOutcome {
  object: TrustPolicy;
  status: ObjectStatus;
  policy?: { name: string; document: TrustPolicyDocument };
}

function renderTrustPolicies(trustPolicies: readonly TrustPolicy[], storesByKey: ReadonlyMap<string, StoreOutcome>): PolicyOutcome[] {
  const outcomes: PolicyOutcome[] = [];
  const owners = new Map<string, TrustPolicy>();
  for (const object of [...trustPolicies].sort(claimOrder)) {
    const base = baseStatus(TRUST_POLICY_KIND, object);
    const schema = validateTrustPolicySpec(object.spec);
    if (schema.length > 0) {
      outcomes.push({ object, status: failed(base, schema) });
      continue;
    }
    const spec = object.spec;
    base.key = spec.trustPolicyName;
    const problems: Problem[] = [];
    const owner = owners.get(spec.trustPolicyName);
    if (owner !== undefined) {
      problems.push({
        path: 'spec.trustPolicyName',
        message: `TrustPolicy "${owner.metadata.name}" already uses trustPolicyName "${spec.trustPolicyName}" (the older object keeps it); choose another name or delete one of them`,
        reason: Reason.DuplicateName,
      });
    } else owners.set(spec.trustPolicyName, object);
    problems.push(...validateTrustPolicyDocument(spec, { path: 'spec' }));

    // Resolve trust store references against the stores that exist (notation fails verification when a
    // referenced store is missing or empty, docs/architecture.md "The request pipeline").
    const resolved = new Set<string>();
    spec.trustPolicies.forEach((statement, i) => {
      (statement.trustStores ?? []).forEach((reference, j) => {
        if (!parseTrustStoreReference(reference).ok) return; // reported by the document rules
        const path = childPath(childPath(childPath(childPath('spec', 'trustPolicies'), i), 'trustStores'), j);
        const store = storesByKey.get(reference);
        if (store === undefined) {
          const parsed = parseTrustStoreReference(reference);
          const hint = parsed.ok ? `create a TrustStore with type: ${parsed.type} and trustStoreName: ${parsed.name}, or fix the reference` : '';
          problems.push({ path, message: `trust store "${reference}" does not exist; ${hint}`, reason: Reason.UnknownTrustStore });
        } else if (!store.status.ready) {
          problems.push({
            path,
            message: `trust store "${reference}" (TrustStore "${store.object.metadata.name}") is not ready: ${store.status.reason}; fix that TrustStore first`,
            reason: Reason.TrustStoreNotReady,
          });
        } else resolved.add(reference);
      });
    });
    base.resolvedTrustStores = [...resolved].sort();

    if (problems.length > 0) {
      outcomes.push({ object, status: failed(base, problems) });
    } else {
      outcomes.push({
        object,
        status: { ...base, ready: true, reason: Reason.InBundle, message: '', problems: [] },
        policy: { name: spec.trustPolicyName, document: documentOf(spec) },
      });
    }
  }
  return outcomes;
}

function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Renders the bundle from all TrustPolicies, TrustStores and the plugin config, with a status for every object.
 * Deterministic: the same inputs in any order give the same `text`.
 */
export function renderBundle(input: RenderInput): RenderResult {
  const now = input.now ?? new Date();
  const maxBytes = input.maxBytes ?? BUNDLE_MAX_BYTES;
  const pluginConfig = sortedRecord(Object.entries(input.pluginConfig));

  const storeOutcomes = renderTrustStores(input.trustStores, now);
  const storesByKey = new Map<string, StoreOutcome>();
  for (const outcome of storeOutcomes) {
    const key = outcome.status.key;
    if (key !== undefined && outcome.status.reason !== Reason.DuplicateName) storesByKey.set(key, outcome);
  }
  const trustStores = sortedRecord(
    [...storesByKey.entries()].flatMap(([key, outcome]) => (outcome.store ? [[key, outcome.store] as [string, BundleTrustStore]] : [])),
  );

  const policyOutcomes = renderTrustPolicies(input.trustPolicies, storesByKey);
  const trustPolicies = sortedRecord(
    policyOutcomes.flatMap((outcome): [string, BundleTrustPolicy][] => {
      if (!outcome.policy) return [];
      const { document } = outcome.policy;
      const version = policyVersion(document, trustStores, pluginConfig);
      outcome.status.policyVersion = version;
      return [[outcome.policy.name, { version, document, trustStores: referencedTrustStores(document) }]];
    }),
  );

  const content = { apiVersion: BUNDLE_API_VERSION, pluginConfig, trustStores, trustPolicies } as const;
  const bundle: Bundle = { ...content, version: bundleVersion(content) };
  const text = canonicalJson(bundle);
  const bytes = Buffer.byteLength(text, 'utf8');
  const tooLarge = bytes > maxBytes;

  // Where each store is used, for the Ready message of stores (so `kubectl get ts -o wide` explains itself).
  const usedBy = new Map<string, string[]>();
  for (const [name, policy] of Object.entries(trustPolicies)) for (const key of policy.trustStores) usedBy.set(key, [...(usedBy.get(key) ?? []), name]);
  const short = bundle.version.slice(0, 12);
  const statuses = [...storeOutcomes.map((o) => o.status), ...policyOutcomes.map((o) => o.status)];
  for (const status of statuses) {
    if (tooLarge) {
      const own = status.problems.length > 0 ? `; this object also has problems: ${status.message}` : '';
      const problem: Problem = {
        path: '',
        message: `the bundle would be ${bytes} bytes, over the ${maxBytes}-byte limit of its ConfigMap, so it was not written and the previous bundle keeps serving; remove unused TrustPolicies, TrustStores or certificates${own}`,
        reason: Reason.BundleTooLarge,
      };
      Object.assign(status, { ready: false, reason: Reason.BundleTooLarge, message: problemsMessage([problem]), problems: [problem, ...status.problems] });
    } else if (status.ready && status.kind === TRUST_STORE_KIND) {
      const users = status.key === undefined ? [] : (usedBy.get(status.key) ?? []);
      status.message = `in bundle ${short}; ${users.length === 0 ? 'no trust policy references it' : `used by trust policies ${users.join(', ')}`}`;
    } else if (status.ready) {
      status.message = `in bundle ${short} as policy version ${status.policyVersion?.slice(0, 12) ?? ''}`;
    }
  }
  statuses.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind === TRUST_POLICY_KIND ? -1 : 1));
  return { bundle, text, bytes, tooLarge, statuses };
}
