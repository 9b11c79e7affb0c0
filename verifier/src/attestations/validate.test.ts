import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KnaError, Outcome } from '@kna/shared/errors';
import { validateAttestations } from './validate.js';

function rejects(attestations: unknown, message: RegExp): void {
  assert.throws(
    () => validateAttestations(attestations),
    (err: unknown) => {
      assert.ok(err instanceof KnaError, String(err));
      assert.equal(err.outcome, Outcome.BadRequest);
      assert.match(err.message, message);
      return true;
    },
  );
}

const sbom = (conditions: unknown) => [{ imageReference: '*', type: [{ name: 'sbom/example', conditions }] }];

describe('validateAttestations (docs/architecture.md "The HTTP contract", as 400s that name the JSON path)', () => {
  it('accepts what Kyverno sends for the sample policy, and absent or empty attestations', () => {
    assert.doesNotThrow(() => validateAttestations(undefined));
    assert.doesNotThrow(() => validateAttestations([]));
    assert.doesNotThrow(() =>
      validateAttestations(
        sbom({ all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17', message: 'invalid license version' }] }),
      ),
    );
    assert.doesNotThrow(() =>
      validateAttestations(sbom([{ any: [{ key: "{{ time_since('', metadata.scanFinishedOn, '') }}", operator: 'lessthan', value: '168h' }] }, {}])),
    );
    assert.doesNotThrow(() => validateAttestations([{ imageReference: 'reg.example/*', type: [{ name: 'scan' }, { name: 'sbom', conditions: null }] }]));
    // The same sample condition without its value is refused: what was accepted above was validated, not skipped.
    rejects(
      sbom({ all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals' }] }),
      /^invalid request: attestations\[0\]\.type\[0\]\.conditions\.all\[0\]\.value: condition value cannot be empty/,
    );
  });

  it('rejects an empty or unusable imageReference', () => {
    rejects([{ imageReference: '', type: [] }], /^invalid request: attestations\[0\]\.imageReference: image reference cannot be empty/);
    rejects([{ type: [] }], /attestations\[0\]\.imageReference: image reference cannot be empty/);
    rejects(
      [
        { imageReference: '*', type: [] },
        { imageReference: 'reg.example/app :v1', type: [] },
      ],
      /attestations\[1\]\.imageReference: "reg\.example\/app :v1" contains whitespace/,
    );
    rejects([{ imageReference: 'reg/app\n', type: [] }], /contains whitespace or a control character/);
  });

  it('rejects an empty type name and a missing type list', () => {
    rejects([{ imageReference: '*', type: [{ name: 'a' }, { name: '' }] }], /attestations\[0\]\.type\[1\]\.name: attestation name cannot be empty/);
    rejects([{ imageReference: '*', type: [{}] }], /attestations\[0\]\.type\[0\]\.name: attestation name cannot be empty/);
    rejects([{ imageReference: '*', type: [{ name: 'sbom example' }] }], /type\[0\]\.name: "sbom example" contains whitespace/);
    rejects([{ imageReference: '*' }], /attestations\[0\]\.type: must be a list/);
    rejects({ imageReference: '*' }, /attestations: must be a list/);
    rejects(['*'], /attestations\[0\]: must be an object/);
  });

  it('rejects a null condition key or value, as the original did', () => {
    rejects(
      sbom({ all: [{ key: null, operator: 'Equals', value: 'x' }] }),
      /attestations\[0\]\.type\[0\]\.conditions\.all\[0\]\.key: condition key cannot be empty/,
    );
    rejects(
      sbom([{}, { any: [{ key: 'a', operator: 'Equals', value: null }] }]),
      /attestations\[0\]\.type\[0\]\.conditions\[1\]\.any\[0\]\.value: condition value cannot be empty/,
    );
  });

  it('rejects what the evaluation would only discover on a payload: operators, JMESPath syntax, shapes', () => {
    rejects(
      sbom({ all: [{ key: 'a', operator: 'Equalz', value: 'a' }] }),
      /attestations\[0\]\.type\[0\]\.conditions\.all\[0\]\.operator: unknown condition operator "Equalz"/,
    );
    rejects(
      sbom({ any: [{ key: '{{ a.[ }}', operator: 'Equals', value: 'a' }] }),
      /attestations\[0\]\.type\[0\]\.conditions\.any\[0\]\.key: invalid variable \{\{ a\.\[ \}\}/,
    );
    rejects(sbom({ all: [{ key: "{{ no_such_function('x') }}", operator: 'Equals', value: 'a' }] }), /conditions\.all\[0\]\.key: invalid variable/);
    rejects(sbom({ all: 'x' }), /attestations\[0\]\.type\[0\]\.conditions\.all: must be a list of conditions/);
    rejects(sbom('x'), /attestations\[0\]\.type\[0\]\.conditions: a condition block must be an object/);
  });

  it('rejects conditions that cannot be hashed into a cache key (a lone surrogate from a \\ud800 escape)', () => {
    rejects(sbom(JSON.parse('{"all":[{"key":"a","operator":"Equals","value":"\\ud800"}]}')), /attestations\[0\]\.type\[0\]\.conditions: cannot canonicalise/);
  });
});
