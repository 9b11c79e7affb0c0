import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileJmesPath, searchJmesPath } from './index.js';
import { ERR_JMESPATH_INVALID, ERR_JMESPATH_UNKNOWN_KEY } from './errors.js';
import { Outcome } from '../errors.js';

const sbom = {
  spdxVersion: 'SPDX-2.3',
  creationInfo: { created: '2024-01-01T00:00:00Z', licenseListVersion: null },
  packages: [
    { name: 'a', versionInfo: '1.0.0', licenseConcluded: 'MIT' },
    { name: 'b', versionInfo: '2.0.0' },
  ],
  Results: [{ Target: 'x', Vulnerabilities: [{ Severity: 'CRITICAL' }, { Severity: 'LOW' }] }, { Target: 'y' }],
};
const q = (expression: string, data: unknown = sbom) => searchJmesPath(expression, data);
const unknownKey = (expression: string, key: string, data: unknown = sbom) =>
  assert.throws(
    () => q(expression, data),
    (error: unknown) => error instanceof ERR_JMESPATH_UNKNOWN_KEY && error.outcome === Outcome.Denied && error.message.includes(`Unknown key "${key}" in path`),
    expression,
  );

describe('the unknown-path rule', () => {
  it('a present key resolves, even to null', () => {
    assert.equal(q('spdxVersion'), 'SPDX-2.3');
    assert.equal(q('creationInfo.licenseListVersion'), null);
  });
  it('a missing key is an error, not null', () => {
    unknownKey('predicate.builder.id', 'predicate');
    unknownKey('creationInfo.creators', 'creators');
  });
  it('a path through an existing null stops quietly', () => {
    assert.equal(q('creationInfo.licenseListVersion.major'), null);
  });
  it('a field of a non-object is null, as in standard JMESPath', () => {
    assert.equal(q('spdxVersion.length'), null);
    assert.equal(q('packages.name'), null);
  });
  it('applies inside projections, filters and function arguments', () => {
    unknownKey('packages[].licenseConcluded', 'licenseConcluded');
    unknownKey("packages[?licenseConcluded == 'MIT'].name", 'licenseConcluded');
    unknownKey('Results[].Vulnerabilities[]', 'Vulnerabilities');
    unknownKey('length(missing)', 'missing');
    unknownKey('sort_by(packages, &missing)', 'missing');
  });
  it('the operands of || treat a missing key as null, so fallbacks work', () => {
    assert.equal(q("predicate.builder.id || 'unknown'"), 'unknown');
    assert.deepEqual(q('Results[?Vulnerabilities || `false`].Target'), ['x']);
    assert.equal(q('missing || also.missing'), null);
    assert.equal(q('spdxVersion || missing'), 'SPDX-2.3');
  });
  it('looks up own properties only', () => {
    unknownKey('constructor', 'constructor', {});
    unknownKey('"__proto__"', '__proto__', {});
    unknownKey('toString', 'toString', {});
  });
  it('works on the typical attestation queries', () => {
    // `[?Vulnerabilities]` alone would fail on the Result without the key; `|| \`false\`` is the
    // idiom that states "absent means no".
    assert.equal(q("length(Results[?Vulnerabilities || `false`].Vulnerabilities[] | [?Severity == 'CRITICAL'])"), 1);
    unknownKey('Results[?Vulnerabilities].Target', 'Vulnerabilities');
    assert.deepEqual(q('packages[?versionInfo].name'), ['a', 'b']);
  });
});

describe("Kyverno's JMESPath dialect", () => {
  const invalid = (expression: string, reason: RegExp) =>
    assert.throws(
      () => compileJmesPath(expression),
      (error: unknown) => error instanceof ERR_JMESPATH_INVALID && error.outcome === Outcome.BadRequest && reason.test(error.message),
      expression,
    );
  it('rejects syntax errors and non-JSON literals', () => {
    invalid('a.[', /invalid JMESPath expression/);
    invalid('`foo`', /JSON literal/);
  });
  it('rejects unknown functions, including the library’s non-standard built-ins', () => {
    invalid('nope(a)', /unknown function: nope\(\)/);
    invalid("upper('a')", /unknown function: upper\(\)/);
    invalid('group_by(a, &b)', /unknown function/);
    invalid("random('[a-z]{5}')", /unknown function: random\(\)/);
  });
  it('rejects the JMESPath-community extensions Kyverno does not parse', () => {
    invalid('a + b', /arithmetic/);
    invalid('-a', /arithmetic/);
    invalid('a ? b : c', /\?:/);
    invalid('$.a', /root/);
  });
  it('accepts standard functions and caches compiled expressions', () => {
    assert.equal(compileJmesPath('length(a)'), compileJmesPath('length(a)'));
    assert.equal(q('max(`[1, 3, 2]`)', {}), 3);
  });
});
