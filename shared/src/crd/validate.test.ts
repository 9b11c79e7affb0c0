import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { childPath, formatProblems } from './problem.js';
import { validateTrustPolicySpec, validateTrustStoreSpec } from './validate.js';

const statement = { name: 's', registryScopes: ['*'], signatureVerification: { level: 'strict' } };
const spec = { version: '1.0', trustPolicyName: 'p', trustPolicies: [statement] };

describe('validateTrustPolicySpec', () => {
  it('accepts a valid spec and ignores unknown fields by default (the API server prunes them)', () => {
    assert.deepEqual(validateTrustPolicySpec(spec), []);
    assert.deepEqual(validateTrustPolicySpec({ ...spec, extra: 1 }), []);
  });

  it('rejects unknown fields on request, except in maps', () => {
    const problems = validateTrustPolicySpec(
      { ...spec, trustPolicies: [{ ...statement, trustedIdentity: ['x'], signatureVerification: { level: 'strict', override: { revokation: 'skip' } } }] },
      { unknownFields: 'reject' },
    );
    // `override` is a map in the original CRD: its keys are checked by the trust-policy rules, not the schema.
    assert.deepEqual(problems, [
      { path: 'spec.trustPolicies[0].trustedIdentity', message: 'unknown field (check the spelling; the API server would drop it)', reason: 'InvalidSpec' },
    ]);
  });

  it('names the path, the allowed values and what it got', () => {
    const problems = validateTrustPolicySpec({
      version: 1,
      trustPolicyName: '',
      trustPolicies: [{ ...statement, registryScopes: 'ghcr.io/a', signatureVerification: { level: 'Strict' } }],
    });
    assert.equal(
      formatProblems(problems),
      [
        'spec.version: must be one of "1.0", got number 1 (quote it in YAML so that it is a string)',
        'spec.trustPolicyName: must not be empty',
        'spec.trustPolicies[0].registryScopes: must be an array, got string "ghcr.io/a"',
        'spec.trustPolicies[0].signatureVerification.level: must be one of "strict", "permissive", "audit", "skip", got string "Strict"',
      ].join('\n'),
    );
    assert.ok(problems.every((p) => p.reason === 'InvalidSpec'));
  });

  it('uses the path prefix it is given', () => {
    assert.deepEqual(
      validateTrustPolicySpec({ ...spec, trustPolicies: [] }, { path: 'items[2].spec' }).map((p) => [p.path, p.message]),
      [['items[2].spec.trustPolicies', 'must list at least 1 item(s)']],
    );
  });
});

describe('validateTrustStoreSpec', () => {
  it('checks required fields and the type enum (tsa included)', () => {
    assert.deepEqual(validateTrustStoreSpec({ trustStoreName: 'a', type: 'tsa', caBundle: 'x' }), []);
    assert.deepEqual(
      validateTrustStoreSpec(null).map((p) => p.message),
      ['must be an object, got null'],
    );
    assert.deepEqual(
      validateTrustStoreSpec({ type: 'x509' }).map((p) => `${p.path}: ${p.message}`),
      ['spec.trustStoreName: is required', 'spec.caBundle: is required', 'spec.type: must be one of "ca", "signingAuthority", "tsa", got string "x509"'],
    );
  });
});

describe('childPath', () => {
  it('writes identifiers with dots and anything else quoted in brackets', () => {
    assert.equal(childPath('', 'spec'), 'spec');
    assert.equal(childPath('spec', 'trustPolicies'), 'spec.trustPolicies');
    assert.equal(childPath('spec.trustPolicies', 0), 'spec.trustPolicies[0]');
    assert.equal(childPath('data', 'aws-region'), 'data["aws-region"]');
  });
});
