// Local mode reads the same manifests `kubectl apply` takes (docs/architecture.md "The two deployments"): multi-document YAML (or JSON) with
// TrustPolicy, TrustStore and ConfigMap (plugin configuration) objects, or a `kind: List` of them. Each document is
// checked as the API server would (the CRD schemas, with kubectl's default strict rejection of unknown fields),
// and every problem is reported with the file, the document number and the JSON path.
import { parseAllDocuments } from 'yaml';
import { API_VERSION, type ObjectMeta } from '../crd/common.js';
import { childPath, formatProblems, Reason, type Problem } from '../crd/problem.js';
import { TRUST_POLICY_KIND, type TrustPolicy } from '../crd/trust-policy.js';
import { TRUST_STORE_KIND, type TrustStore } from '../crd/trust-store.js';
import { validateTrustPolicySpec, validateTrustStoreSpec } from '../crd/validate.js';
import { Outcome, defineError } from '../errors.js';

/** A core/v1 ConfigMap, the fields local mode reads (the plugin configuration, --pluginConfigMap). */
export interface ConfigMapManifest {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

export interface Manifests {
  trustPolicies: TrustPolicy[];
  trustStores: TrustStore[];
  configMaps: ConfigMapManifest[];
}

/** Manifests that cannot be used; the message lists every problem, one per line. */
export const ERR_INVALID_MANIFESTS = defineError(
  'KNA_ERR_INVALID_MANIFESTS',
  Outcome.Configuration,
  (source: string, problems: string) => `invalid manifests in ${source}:\n${problems}`,
);

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const CONFIG_MAP_TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable']);

/** A JSON or YAML mapping (an object that is not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Located {
  /** "document 2" or "document 2, items[0]". */
  where: string;
  value: unknown;
}

function describeObject(value: Record<string, unknown>): string {
  const kind = typeof value.kind === 'string' ? value.kind : 'object';
  const name = isRecord(value.metadata) && typeof value.metadata.name === 'string' ? ` "${value.metadata.name}"` : '';
  return `${kind}${name}`;
}

function checkMetadata(value: Record<string, unknown>, add: (path: string, message: string) => void): void {
  if (!isRecord(value.metadata)) {
    add('metadata', 'is required, with a name');
    return;
  }
  if (typeof value.metadata.name !== 'string' || value.metadata.name === '') add('metadata.name', 'is required (a non-empty string)');
}

function unknownFields(value: Record<string, unknown>, allowed: ReadonlySet<string>, add: (path: string, message: string) => void): void {
  for (const key of Object.keys(value)) if (!allowed.has(key)) add(childPath('', key), 'unknown field (check the spelling)');
}

/**
 * Parses manifests text (one file) into typed objects. `source` names the file in messages. Throws
 * ERR_INVALID_MANIFESTS listing every problem of every document; `status` of the custom resources is ignored.
 */
export function parseManifests(yamlText: string, source = '<manifests>'): Manifests {
  const result: Manifests = { trustPolicies: [], trustStores: [], configMaps: [] };
  const lines: string[] = [];
  const located: Located[] = [];

  // YAML 1.1, as kubectl reads manifests (sigs.k8s.io/yaml): `yes`/`on` are booleans there too.
  const documents = parseAllDocuments(yamlText, { version: '1.1', uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [];
  list.forEach((document, index) => {
    const where = `document ${index + 1}`;
    const [error] = document.errors;
    if (error) {
      lines.push(`${where}: YAML error: ${error.message.split('\n')[0] ?? ''}`);
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing "---"
    if (isRecord(value) && value.kind === 'List' && value.apiVersion === 'v1') {
      const items = Array.isArray(value.items) ? (value.items as unknown[]) : [];
      items.forEach((item, i) => located.push({ where: `${where}, items[${i}]`, value: item }));
    } else located.push({ where, value });
  });

  for (const { where, value } of located) {
    const problems: Problem[] = [];
    const add = (path: string, message: string) => problems.push({ path, message, reason: Reason.InvalidSpec });
    if (!isRecord(value)) {
      lines.push(`${where}: expected a Kubernetes object (a mapping with apiVersion and kind)`);
      continue;
    }
    const kind = value.kind;
    if (kind === TRUST_POLICY_KIND || kind === TRUST_STORE_KIND) {
      if (value.apiVersion !== API_VERSION) add('apiVersion', `must be "${API_VERSION}" for ${kind}, got ${JSON.stringify(value.apiVersion ?? null)}`);
      checkMetadata(value, add);
      unknownFields(value, TOP_LEVEL, add);
      if (value.spec === undefined) add('spec', 'is required');
      else {
        const validate = kind === TRUST_POLICY_KIND ? validateTrustPolicySpec : validateTrustStoreSpec;
        problems.push(...validate(value.spec, { path: 'spec', unknownFields: 'reject' }));
      }
      if (problems.length === 0) {
        // Status belongs to the operator; a manifest exported with `kubectl get -o yaml` may carry a stale one.
        const { status: _status, ...object } = value;
        if (kind === TRUST_POLICY_KIND) result.trustPolicies.push(object as unknown as TrustPolicy);
        else result.trustStores.push(object as unknown as TrustStore);
      }
    } else if (kind === 'ConfigMap') {
      if (value.apiVersion !== 'v1') add('apiVersion', `must be "v1" for ConfigMap, got ${JSON.stringify(value.apiVersion ?? null)}`);
      checkMetadata(value, add);
      unknownFields(value, CONFIG_MAP_TOP_LEVEL, add);
      if (value.data !== undefined && value.data !== null) {
        if (!isRecord(value.data)) add('data', 'must be a mapping of string keys to string values');
        else {
          for (const [key, entry] of Object.entries(value.data)) {
            if (typeof entry !== 'string') add(childPath('data', key), `must be a string, got ${JSON.stringify(entry)} (quote the value in YAML)`);
          }
        }
      }
      if (problems.length === 0) {
        const configMap: ConfigMapManifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: value.metadata as ObjectMeta };
        if (isRecord(value.data)) configMap.data = { ...(value.data as Record<string, string>) };
        result.configMaps.push(configMap);
      }
    } else {
      const what =
        typeof kind === 'string'
          ? `kind "${kind}"${typeof value.apiVersion === 'string' ? ` (${value.apiVersion})` : ''} is not supported here`
          : 'the object has no kind';
      lines.push(`${where}: ${what}; the policy directory takes TrustPolicy, TrustStore and ConfigMap manifests`);
      continue;
    }
    if (problems.length > 0) {
      lines.push(
        ...formatProblems(problems)
          .split('\n')
          .map((line) => `${where} (${describeObject(value)}): ${line}`),
      );
    }
  }
  if (lines.length > 0) throw new ERR_INVALID_MANIFESTS(source, lines.map((line) => `  ${line}`).join('\n'));
  return result;
}
