import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ORIGINAL_SAMPLES } from '../trust-policy/testdata.js';
import { crdFiles, customResourceDefinitions, type CustomResourceDefinition } from './definitions.js';
import type { StructuralSchema } from './schema.js';
import type { TrustPolicySpec, TrustPolicyStatus } from './trust-policy.js';
import type { TrustStoreSpec } from './trust-store.js';
import { compileValidator } from './validate.js';

const root = join(import.meta.dirname, '..', '..', '..');

function schemaAt(schema: StructuralSchema, path: string): StructuralSchema | undefined {
  let node: StructuralSchema | undefined = schema;
  for (const part of path
    .replace(/\[\?\(.*?\)\]/g, '')
    .split('.')
    .filter(Boolean)) {
    node = node?.type === 'array' ? node.items?.properties?.[part] : node?.properties?.[part];
  }
  return node;
}

// The rules the API server applies to a structural schema (apiextensions validation), for the subset we use.
function structuralViolations(schema: StructuralSchema, path: string): string[] {
  const found: string[] = [];
  if (!(schema.type as string | undefined)) found.push(`${path}: no type`);
  if (schema.properties && schema.additionalProperties) found.push(`${path}: properties and additionalProperties together`);
  if (schema.type === 'array' && !schema.items) found.push(`${path}: array without items`);
  for (const key of schema.required ?? []) if (!schema.properties?.[key]) found.push(`${path}: required ${key} is not a property`);
  if (schema['x-kubernetes-list-type'] === 'map') {
    for (const key of schema['x-kubernetes-list-map-keys'] ?? []) {
      if (!schema.items?.required?.includes(key)) found.push(`${path}: list-map key ${key} must be required`);
    }
  }
  for (const [key, child] of Object.entries(schema.properties ?? {})) found.push(...structuralViolations(child, `${path}.${key}`));
  if (schema.items) found.push(...structuralViolations(schema.items, `${path}[]`));
  if (schema.additionalProperties) found.push(...structuralViolations(schema.additionalProperties, `${path}{}`));
  return found;
}

function versionOf(crd: CustomResourceDefinition) {
  const version = crd.spec.versions[0];
  assert.ok(version);
  return version;
}

describe('CRDs', () => {
  it('the chart files are up to date (run `pnpm crds` after changing shared/src/crd)', () => {
    for (const file of crdFiles()) {
      let onDisk: string;
      try {
        onDisk = readFileSync(join(root, file.path), 'utf8');
      } catch {
        assert.fail(`${file.path} is missing: run \`pnpm crds\``);
      }
      assert.equal(onDisk, file.text, `${file.path} is stale: run \`pnpm crds\``);
      assert.deepEqual(
        parse(onDisk),
        customResourceDefinitions().find((crd) => file.path.endsWith(`/${crd.metadata.name}.yaml`)),
      );
    }
  });

  it('keep the original names, group, version and cluster scope, with short names', () => {
    const [tp, ts] = customResourceDefinitions();
    assert.equal(tp.metadata.name, 'trustpolicies.notation.nirmata.io');
    assert.equal(ts.metadata.name, 'truststores.notation.nirmata.io');
    assert.deepEqual(
      [tp, ts].map((crd) => [crd.spec.group, crd.spec.scope, crd.spec.names.kind, crd.spec.names.listKind, crd.spec.names.singular, crd.spec.names.shortNames]),
      [
        ['notation.nirmata.io', 'Cluster', 'TrustPolicy', 'TrustPolicyList', 'trustpolicy', ['tp']],
        ['notation.nirmata.io', 'Cluster', 'TrustStore', 'TrustStoreList', 'truststore', ['ts']],
      ],
    );
    for (const crd of [tp, ts]) {
      const version = versionOf(crd);
      assert.deepEqual([version.name, version.served, version.storage, version.subresources], ['v1alpha1', true, true, { status: {} }]);
    }
  });

  it('are structural schemas', () => {
    for (const crd of customResourceDefinitions()) assert.deepEqual(structuralViolations(versionOf(crd).schema.openAPIV3Schema, crd.spec.names.kind), []);
  });

  it('have the printer columns of docs/architecture.md "Custom resources", each pointing at a schema field', () => {
    const [tp, ts] = customResourceDefinitions();
    const visible = (crd: CustomResourceDefinition) =>
      versionOf(crd)
        .additionalPrinterColumns.filter((c) => c.priority === undefined)
        .map((c) => c.name.toUpperCase());
    assert.deepEqual(visible(tp), ['TRUSTPOLICYNAME', 'READY', 'REASON', 'BUNDLE', 'AGE']);
    assert.deepEqual(visible(ts), ['TRUSTSTORENAME', 'TYPE', 'READY', 'CERTS', 'EXPIRES', 'AGE']);
    for (const crd of [tp, ts]) {
      const schema = versionOf(crd).schema.openAPIV3Schema;
      for (const column of versionOf(crd).additionalPrinterColumns) {
        if (column.jsonPath === '.metadata.creationTimestamp') continue; // metadata is the API server's
        const field = schemaAt(schema, column.jsonPath);
        assert.ok(field, `${crd.spec.names.kind} column ${column.name}: ${column.jsonPath} is not in the schema`);
        if (column.type === 'integer') assert.equal(field.type, 'integer');
      }
    }
  });

  it('accept the original project sample manifests unchanged (override: {} included)', () => {
    const [tp, ts] = customResourceDefinitions();
    const validators = {
      TrustPolicy: compileValidator(versionOf(tp).schema.openAPIV3Schema, { strict: false }),
      TrustStore: compileValidator(versionOf(ts).schema.openAPIV3Schema, { strict: false }),
    };
    const docs = parseAllDocuments(ORIGINAL_SAMPLES).map((d) => d.toJS() as { kind: 'TrustPolicy' | 'TrustStore' });
    assert.equal(docs.length, 4);
    for (const doc of docs) assert.deepEqual(validators[doc.kind](doc), [], JSON.stringify(doc));
  });

  it('validate every enum and required field', () => {
    const [tp, ts] = customResourceDefinitions();
    const policy = compileValidator(versionOf(tp).schema.openAPIV3Schema, { strict: false });
    const store = compileValidator(versionOf(ts).schema.openAPIV3Schema, { strict: false });
    const statement = { name: 's', registryScopes: ['*'], signatureVerification: { level: 'strict' } };
    const spec = { version: '1.0', trustPolicyName: 'p', trustPolicies: [statement] };
    assert.deepEqual(policy({ spec }), []);
    const paths = (problems: { path: string }[]) => problems.map((p) => p.path);
    assert.deepEqual(paths(policy({})), ['spec']);
    assert.deepEqual(paths(policy({ spec: {} })), ['spec.version', 'spec.trustPolicyName', 'spec.trustPolicies']);
    assert.deepEqual(paths(policy({ spec: { ...spec, version: '2.0' } })), ['spec.version']);
    assert.deepEqual(paths(policy({ spec: { ...spec, trustPolicies: [{}] } })), [
      'spec.trustPolicies[0].name',
      'spec.trustPolicies[0].registryScopes',
      'spec.trustPolicies[0].signatureVerification',
    ]);
    const withVerification = (signatureVerification: object) => policy({ spec: { ...spec, trustPolicies: [{ ...statement, signatureVerification }] } });
    assert.deepEqual(paths(withVerification({})), ['spec.trustPolicies[0].signatureVerification.level']);
    assert.deepEqual(paths(withVerification({ level: 'Strict' })), ['spec.trustPolicies[0].signatureVerification.level']);
    assert.deepEqual(paths(withVerification({ level: 'strict', override: { revocation: 'off' } })), [
      'spec.trustPolicies[0].signatureVerification.override.revocation',
    ]);
    assert.deepEqual(paths(withVerification({ level: 'strict', verifyTimestamp: 'never' })), ['spec.trustPolicies[0].signatureVerification.verifyTimestamp']);
    assert.deepEqual(paths(withVerification({ level: 'skip', verifyTimestamp: 'afterCertExpiry', override: {} })), []);
    assert.deepEqual(paths(store({ spec: {} })), ['spec.trustStoreName', 'spec.type', 'spec.caBundle']);
    assert.deepEqual(paths(store({ spec: { trustStoreName: 'x', type: 'x509', caBundle: 'pem' } })), ['spec.type']);
    assert.deepEqual(paths(store({ spec: { trustStoreName: 'x', type: 'tsa', caBundle: 'pem' } })), []);
    assert.deepEqual(
      paths(store({ spec: { trustStoreName: 'x', type: 'ca', caBundle: 'pem' }, status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } })),
      ['status.conditions[0].reason', 'status.conditions[0].message', 'status.conditions[0].lastTransitionTime', 'status.conditions[0].status'],
    );
  });

  it('derive the TypeScript types from the schemas', () => {
    const spec: TrustPolicySpec = {
      version: '1.0',
      trustPolicyName: 'p',
      trustPolicies: [{ name: 's', registryScopes: ['*'], signatureVerification: { level: 'audit', override: { expiry: 'log' }, verifyTimestamp: 'always' } }],
    };
    // @ts-expect-error an unknown level is not a TrustPolicySpec
    const badLevel: TrustPolicySpec = { ...spec, trustPolicies: [{ name: 's', registryScopes: [], signatureVerification: { level: 'none' } }] };
    // @ts-expect-error the version is the literal "1.0"
    const badVersion: TrustPolicySpec = { ...spec, version: '2' };
    // @ts-expect-error trustStoreName is required
    const badStore: TrustStoreSpec = { type: 'tsa', caBundle: '' };
    const status: TrustPolicyStatus = {
      conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: '', lastTransitionTime: '' }],
      resolvedTrustStores: [],
    };
    assert.ok([spec, badLevel, badVersion, badStore, status].every((v) => typeof v === 'object'));
  });
});
