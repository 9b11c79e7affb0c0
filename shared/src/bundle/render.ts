// renderBundle: every TrustPolicy and TrustStore (and the plugin config) → the bundle the verifiers load, and a
// status per object (docs/architecture.md "Custom resources" and "The bundle contract"). The operator runs it on each reconcile; local mode runs it on the policy
// directory, so both serve exactly the same thing. It is a pure, level-based function of its inputs: objects are
// processed in a canonical order and nothing time-dependent goes into the output text, so the same inputs in any
// order give byte-identical bundles (the operator writes only when the text changes). Invalid objects are
// reported and left out; they never block the valid ones. Only `now` (certificate expiry) can change a result.
//
// The work that depends on one object alone (schema and notation rules, parsing certificates, the object's piece
// of the canonical text) is kept in a RenderCache between renders and reused while the object is unchanged
// (same uid and metadata.generation, or the same spec when an object has none); what relates objects to each
// other (name claims, store references, policy versions, the bundle version) is computed on every render. So a
// render with a cache gives exactly what a render without one gives, and an edit costs the edited object plus
// one assembly of the text, not a re-render of a thousand objects.
import { canonicalScope } from '../image/reference.js';
import { canonicalJson, canonicalObjectText, sha256Hex } from '../canonical/canonical.js';
import { childPath, formatProblems, Reason, type Problem } from '../crd/problem.js';
import { TRUST_POLICY_KIND, type TrustPolicy, type TrustPolicySpec, type TrustPolicyStatement } from '../crd/trust-policy.js';
import { TRUST_STORE_KIND, type TrustStore, type TrustStoreSpec } from '../crd/trust-store.js';
import { validateTrustPolicySpec, validateTrustStoreSpec } from '../crd/validate.js';
import { inspectTrustStore, type TrustStoreInspection } from '../trust-policy/certificates.js';
import { parseTrustStoreReference, validateTrustPolicyDocument, type TrustPolicyDocument } from '../trust-policy/document.js';
import {
  BUNDLE_API_VERSION,
  BUNDLE_MAX_BYTES,
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
  /** Per-object results kept from earlier renders (see RenderCache); a fresh one, used once, by default. */
  cache?: RenderCache;
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

/** The objects in the order they claim a name: oldest first, then by metadata.name (deterministic, keeps incumbents). */
function inClaimOrder<T extends { metadata: { name: string; creationTimestamp?: string | Date | undefined } }>(objects: readonly T[]): T[] {
  return objects
    .map((object) => ({ object, time: creationTime(object) }))
    .sort((a, b) => a.time - b.time || byName(a.object, b.object))
    .map((entry) => entry.object);
}

// ---- the per-object cache ----

/** What one TrustStore yields on its own (the `now` it was computed at decides until when it holds). */
interface StoreWork {
  version: string;
  computedAt: number;
  schema: Problem[];
  inspection?: TrustStoreInspection;
  /** canonicalJson of the store's certificates and of its bundle entry (when it has no problems). */
  certificatesText?: string;
  entryText?: string;
}

interface ReferenceWork {
  reference: string;
  path: string;
  parsed: ReturnType<typeof parseTrustStoreReference>;
}

/** What one TrustPolicy yields on its own. */
interface PolicyWork {
  version: string;
  schema: Problem[];
  documentProblems: Problem[];
  document?: TrustPolicyDocument;
  documentText?: string;
  references: ReferenceWork[];
  /** The policy version and bundle entry last computed, and the certificates and plugin config texts they hold. */
  served?: { certificates: string; pluginConfig: string; version: string; entryText: string };
}

// The version of an object's spec: metadata.generation changes with every spec change (status writes and metadata
// edits leave it alone) and uid with every re-creation; objects without them (local mode's files) use the spec text.
function specVersion(object: TrustPolicy | TrustStore): string {
  const { uid, generation } = object.metadata;
  return uid !== undefined && generation !== undefined ? `${uid}/${generation}` : `spec:${JSON.stringify(object.spec)}`;
}

/** True when no certificate expiry lies between `a` and `b`: an inspection at one holds at the other. */
function sameExpirySide(inspection: TrustStoreInspection | undefined, a: number, b: number): boolean {
  if (inspection?.earliestExpiry === undefined) return true;
  const expiry = Date.parse(inspection.earliestExpiry);
  return a < expiry && b < expiry;
}

/**
 * Per-object results kept between renders, by kind and metadata.name: pass the same cache to every renderBundle
 * of a series (the operator keeps one for its lifetime). An object is worked on again only when its uid,
 * generation (or, without them, its spec) changed, or a certificate of a store expired since; entries of objects
 * no longer rendered are dropped. `reworked` names the objects the last render worked on again.
 */
export class RenderCache {
  readonly #stores = new Map<string, StoreWork>();
  readonly #policies = new Map<string, PolicyWork>();
  #reworked: string[] = [];
  #seen = new Set<string>();
  /** The last result, the inputs it was rendered from, and the times it holds for. */
  #last: { inputs: string; from: number; until: number; result: RenderResult } | undefined;

  /** "TrustPolicy/<name>" and "TrustStore/<name>" of the objects the last render did not take from the cache, sorted. */
  get reworked(): readonly string[] {
    return this.#reworked;
  }

  /** Objects held. */
  get size(): number {
    return this.#stores.size + this.#policies.size;
  }

  begin(): void {
    this.#reworked = [];
    this.#seen = new Set();
  }

  /**
   * The last result when it was rendered from the same inputs (every object's name, spec version and creation
   * time, the plugin config, the size limit) and no certificate expired between then and `now`.
   */
  reuse(inputs: string, now: Date): RenderResult | undefined {
    const last = this.#last;
    if (last === undefined || last.inputs !== inputs || now.getTime() < last.from || now.getTime() >= last.until) return undefined;
    this.#reworked = [];
    return last.result;
  }

  remember(inputs: string, now: Date, result: RenderResult): void {
    // Until the first certificate expires; not at all when one had expired already (its store may see more expire).
    const expiries = result.statuses.flatMap((s) => (s.earliestExpiry === undefined ? [] : [Date.parse(s.earliestExpiry)]));
    const until = Math.min(Number.POSITIVE_INFINITY, ...expiries);
    this.#last = { inputs, from: now.getTime(), until: until > now.getTime() ? until : now.getTime(), result };
  }

  end(): void {
    for (const name of this.#stores.keys()) if (!this.#seen.has(`${TRUST_STORE_KIND}/${name}`)) this.#stores.delete(name);
    for (const name of this.#policies.keys()) if (!this.#seen.has(`${TRUST_POLICY_KIND}/${name}`)) this.#policies.delete(name);
    this.#reworked.sort();
  }

  store(object: TrustStore, now: Date): StoreWork {
    const name = object.metadata.name;
    const version = specVersion(object);
    this.#seen.add(`${TRUST_STORE_KIND}/${name}`);
    const cached = this.#stores.get(name);
    if (cached !== undefined && cached.version === version && sameExpirySide(cached.inspection, cached.computedAt, now.getTime())) return cached;
    this.#reworked.push(`${TRUST_STORE_KIND}/${name}`);
    const work: StoreWork = { version, computedAt: now.getTime(), schema: validateTrustStoreSpec(object.spec) };
    if (work.schema.length === 0) {
      const spec: TrustStoreSpec = object.spec;
      const inspection = inspectTrustStore(spec, { now });
      work.inspection = inspection;
      if (inspection.problems.length === 0) {
        const store: BundleTrustStore = { type: spec.type, name: spec.trustStoreName, certificates: inspection.certificates };
        work.certificatesText = canonicalJson(store.certificates);
        work.entryText = canonicalJson(store);
      }
    }
    this.#stores.set(name, work);
    return work;
  }

  policy(object: TrustPolicy): PolicyWork {
    const name = object.metadata.name;
    const version = specVersion(object);
    this.#seen.add(`${TRUST_POLICY_KIND}/${name}`);
    const cached = this.#policies.get(name);
    if (cached !== undefined && cached.version === version) return cached;
    this.#reworked.push(`${TRUST_POLICY_KIND}/${name}`);
    const work: PolicyWork = { version, schema: validateTrustPolicySpec(object.spec), documentProblems: [], references: [] };
    if (work.schema.length === 0) {
      const spec = object.spec;
      work.documentProblems = validateTrustPolicyDocument(spec, { path: 'spec' });
      spec.trustPolicies.forEach((statement, i) => {
        (statement.trustStores ?? []).forEach((reference, j) => {
          const path = childPath(childPath(childPath(childPath('spec', 'trustPolicies'), i), 'trustStores'), j);
          work.references.push({ reference, path, parsed: parseTrustStoreReference(reference) });
        });
      });
      if (work.documentProblems.length === 0) {
        work.document = documentOf(spec);
        work.documentText = canonicalJson(work.document);
      }
    }
    this.#policies.set(name, work);
    return work;
  }
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
  work?: StoreWork;
}

function renderTrustStores(trustStores: readonly TrustStore[], now: Date, cache: RenderCache): StoreOutcome[] {
  // An array, not a map by metadata.name: local-mode manifests from several files may repeat a name.
  const outcomes: StoreOutcome[] = [];
  const byKey = new Map<string, StoreOutcome>();
  for (const object of inClaimOrder(trustStores)) {
    const base = baseStatus(TRUST_STORE_KIND, object);
    const work = cache.store(object, now);
    const inspection = work.inspection;
    if (inspection === undefined) {
      outcomes.push({ object, status: failed(base, [...work.schema]) });
      continue;
    }
    const spec: TrustStoreSpec = object.spec;
    const key = trustStoreKey(spec.type, spec.trustStoreName);
    base.key = key;
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
      outcome = { object, status: failed(base, [...inspection.problems]) };
      byKey.set(key, outcome);
    } else {
      outcome = {
        object,
        status: { ...base, ready: true, reason: Reason.InBundle, message: '', problems: [] },
        store: { type: spec.type, name: spec.trustStoreName, certificates: inspection.certificates },
        work,
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
  policy?: { name: string; document: TrustPolicyDocument; documentText: string; work: PolicyWork };
}

function renderTrustPolicies(trustPolicies: readonly TrustPolicy[], storesByKey: ReadonlyMap<string, StoreOutcome>, cache: RenderCache): PolicyOutcome[] {
  const outcomes: PolicyOutcome[] = [];
  const owners = new Map<string, TrustPolicy>();
  for (const object of inClaimOrder(trustPolicies)) {
    const base = baseStatus(TRUST_POLICY_KIND, object);
    const work = cache.policy(object);
    if (work.schema.length > 0) {
      outcomes.push({ object, status: failed(base, [...work.schema]) });
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
    problems.push(...work.documentProblems);

    // Resolve trust store references against the stores that exist (notation fails verification when a
    // referenced store is missing or empty, docs/architecture.md "The request pipeline").
    const resolved = new Set<string>();
    for (const { reference, path, parsed } of work.references) {
      if (!parsed.ok) continue; // reported by the document rules
      const store = storesByKey.get(reference);
      if (store === undefined) {
        problems.push({
          path,
          message: `trust store "${reference}" does not exist; create a TrustStore with type: ${parsed.type} and trustStoreName: ${parsed.name}, or fix the reference`,
          reason: Reason.UnknownTrustStore,
        });
      } else if (!store.status.ready) {
        problems.push({
          path,
          message: `trust store "${reference}" (TrustStore "${store.object.metadata.name}") is not ready: ${store.status.reason}; fix that TrustStore first`,
          reason: Reason.TrustStoreNotReady,
        });
      } else resolved.add(reference);
    }
    base.resolvedTrustStores = [...resolved].sort();

    if (problems.length > 0 || work.document === undefined || work.documentText === undefined) {
      outcomes.push({ object, status: failed(base, problems) });
    } else {
      outcomes.push({
        object,
        status: { ...base, ready: true, reason: Reason.InBundle, message: '', problems: [] },
        policy: { name: spec.trustPolicyName, document: work.document, documentText: work.documentText, work },
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
 * Deterministic: the same inputs in any order give the same `text`. With a cache, a render of unchanged inputs
 * returns the previous result object itself: treat results as read-only.
 */
export function renderBundle(input: RenderInput): RenderResult {
  const now = input.now ?? new Date();
  const maxBytes = input.maxBytes ?? BUNDLE_MAX_BYTES;
  const cache = input.cache ?? new RenderCache();
  const pluginConfig = sortedRecord(Object.entries(input.pluginConfig));
  const pluginConfigText = canonicalJson(pluginConfig);

  // A run with nothing changed (the echo of a status write) gets the last result as it is.
  const inputs = [
    String(maxBytes),
    pluginConfigText,
    ...[...input.trustStores, ...input.trustPolicies].map((o) => `${o.kind}\u0000${o.metadata.name}\u0000${specVersion(o)}\u0000${creationTime(o)}`),
  ].join('\u0001');
  const reused = cache.reuse(inputs, now);
  if (reused !== undefined) return reused;

  cache.begin();
  const storeOutcomes = renderTrustStores(input.trustStores, now, cache);
  const storesByKey = new Map<string, StoreOutcome>();
  for (const outcome of storeOutcomes) {
    const key = outcome.status.key;
    if (key !== undefined && outcome.status.reason !== Reason.DuplicateName) storesByKey.set(key, outcome);
  }
  const servedStores = [...storesByKey.entries()].flatMap(([key, outcome]) =>
    outcome.store && outcome.work ? [{ key, store: outcome.store, work: outcome.work }] : [],
  );
  const trustStores = sortedRecord(servedStores.map(({ key, store }): [string, BundleTrustStore] => [key, store]));

  // The policy version of bundle.ts's policyVersion, hashed from the pieces' canonical texts.
  const policyOutcomes = renderTrustPolicies(input.trustPolicies, storesByKey, cache);
  cache.end();
  const policyEntries: [string, string][] = [];
  const trustPolicies = sortedRecord(
    policyOutcomes.flatMap((outcome): [string, BundleTrustPolicy][] => {
      if (!outcome.policy) return [];
      const { document, documentText, name, work } = outcome.policy;
      const references = referencedTrustStores(document);
      const certificates = canonicalObjectText(references.map((key): [string, string] => [key, storesByKey.get(key)?.work?.certificatesText ?? '[]']));
      if (work.served?.certificates !== certificates || work.served.pluginConfig !== pluginConfigText) {
        const version = sha256Hex(
          canonicalObjectText([
            ['certificates', certificates],
            ['document', documentText],
            ['pluginConfig', pluginConfigText],
          ]),
        );
        const entryText = canonicalObjectText([
          ['document', documentText],
          ['trustStores', canonicalJson(references)],
          ['version', JSON.stringify(version)],
        ]);
        work.served = { certificates, pluginConfig: pluginConfigText, version, entryText };
      }
      const { version, entryText } = work.served;
      outcome.status.policyVersion = version;
      policyEntries.push([name, entryText]);
      return [[name, { version, document, trustStores: references }]];
    }),
  );

  // The bundle version of bundle.ts's bundleVersion, and the text canonicalJson(bundle) would give.
  const members: [string, string][] = [
    ['apiVersion', JSON.stringify(BUNDLE_API_VERSION)],
    ['pluginConfig', pluginConfigText],
    ['trustStores', canonicalObjectText(servedStores.map(({ key, work }): [string, string] => [key, work.entryText ?? '']))],
    ['trustPolicies', canonicalObjectText(policyEntries)],
  ];
  const version = sha256Hex(canonicalObjectText(members));
  const bundle: Bundle = { apiVersion: BUNDLE_API_VERSION, pluginConfig, trustStores, trustPolicies, version };
  const text = canonicalObjectText([...members, ['version', JSON.stringify(version)]]);
  const bytes = Buffer.byteLength(text, 'utf8');
  const tooLarge = bytes > maxBytes;

  // Where each store is used, for the Ready message of stores (so `kubectl get ts -o wide` explains itself).
  const usedBy = new Map<string, string[]>();
  for (const [name, policy] of Object.entries(trustPolicies)) for (const key of policy.trustStores) usedBy.set(key, [...(usedBy.get(key) ?? []), name]);
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
      status.message = `in the bundle; ${users.length === 0 ? 'no trust policy references it' : `used by trust policies ${users.join(', ')}`}`;
    } else if (status.ready) {
      status.message = `in the bundle as policy version ${status.policyVersion?.slice(0, 12) ?? ''}`;
    }
  }
  statuses.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind === TRUST_POLICY_KIND ? -1 : 1));
  const result: RenderResult = { bundle, text, bytes, tooLarge, statuses };
  cache.remember(inputs, now, result);
  return result;
}
