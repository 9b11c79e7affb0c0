import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { wildcardMatch } from '@kna/shared/wildcard';
import type { AttestationSpec, ConditionSpec } from '../request/schema.js';
import { requiredAttestations } from './workList.js';

const IMAGE = '111122223333.dkr.ecr.us-west-2.amazonaws.com/team/app:v1';
/** An image whose written form is already canonical. */
const written = (reference: string) => ({ reference, canonicalReference: reference });
const cond = (key: string, value: string, message?: string): ConditionSpec => ({ key, operator: 'Equals', value, ...(message !== undefined && { message }) });

describe('requiredAttestations (docs/architecture.md "Attestations")', () => {
  it('takes the types of the entries whose imageReference matches the image as written', () => {
    const attestations: AttestationSpec[] = [
      { imageReference: '111122223333.dkr.ecr.*/team/*', type: [{ name: 'sbom/example' }] },
      { imageReference: 'docker.io/*', type: [{ name: 'scan/trivy' }] },
      { imageReference: '*:v?', type: [{ name: 'provenance' }] },
    ];
    assert.deepEqual(requiredAttestations(attestations, written(IMAGE)), [
      { type: 'sbom/example', conditions: [] },
      { type: 'provenance', conditions: [] },
    ]);
    assert.deepEqual(requiredAttestations(attestations, written('docker.io/library/busybox:1.28')), [{ type: 'scan/trivy', conditions: [] }]);
    assert.deepEqual(requiredAttestations(attestations, written('quay.io/x/y:latest')), [], 'no entry matches: nothing is required');
  });

  it('matches the whole reference, digest form included (a pattern for the tag does not cover a digest reference)', () => {
    const attestations: AttestationSpec[] = [{ imageReference: '*:v1', type: [{ name: 't' }] }];
    assert.equal(requiredAttestations(attestations, written(`reg.example/app@sha256:${'a'.repeat(64)}`)).length, 0);
    assert.equal(requiredAttestations(attestations, written('reg.example/app:v1')).length, 1);
  });

  it('also matches the canonical spelling: an upper-case registry host is the same registry', () => {
    const attestations: AttestationSpec[] = [{ imageReference: 'localhost:5000/*', type: [{ name: 'sbom' }] }];
    const upper = { reference: 'LOCALHOST:5000/app:v1', canonicalReference: 'localhost:5000/app:v1' };
    assert.deepEqual(requiredAttestations(attestations, upper), [{ type: 'sbom', conditions: [] }]);
    assert.equal(requiredAttestations([{ imageReference: 'LOCALHOST:5000/*', type: [{ name: 'sbom' }] }], written('localhost:5000/app:v1')).length, 1);
  });

  it('merges one type named by several entries into one requirement whose blocks are ANDed, in request order', () => {
    const first = { all: [cond('{{a}}', '1', 'a must be 1')] };
    const second = { any: [cond('{{b}}', '2', 'b must be 2')] };
    const third = { all: [cond('{{c}}', '3')] };
    const attestations: AttestationSpec[] = [
      { imageReference: '*', type: [{ name: 'sbom', conditions: first }, { name: 'scan' }] },
      { imageReference: '*/team/*', type: [{ name: 'sbom', conditions: [second, third] }] },
      { imageReference: '*', type: [{ name: 'scan', conditions: second }] },
    ];
    assert.deepEqual(requiredAttestations(attestations, written(IMAGE)), [
      { type: 'sbom', conditions: [first, second, third] },
      { type: 'scan', conditions: [second] },
    ]);
  });

  it('drops blocks without any condition, as the original did, but keeps an empty `any` next to conditions', () => {
    const meaningful = { any: [], all: [cond('{{a}}', '1')] };
    const attestations: AttestationSpec[] = [
      { imageReference: '*', type: [{ name: 'sbom', conditions: {} }] },
      { imageReference: '*', type: [{ name: 'sbom', conditions: { any: [] } }] },
      { imageReference: '*', type: [{ name: 'sbom', conditions: [{ all: [] }, meaningful] }] },
    ];
    assert.deepEqual(requiredAttestations(attestations, written(IMAGE)), [{ type: 'sbom', conditions: [meaningful] }]);
  });

  it('is case-sensitive about type names (artifactType is matched exactly)', () => {
    const attestations: AttestationSpec[] = [{ imageReference: '*', type: [{ name: 'SBOM' }, { name: 'sbom' }] }];
    assert.deepEqual(
      requiredAttestations(attestations, written(IMAGE)).map((r) => r.type),
      ['SBOM', 'sbom'],
    );
  });

  it('property: the required types are exactly the types of the matching entries, each once', () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd');
    const pattern = fc.constantFrom('*', 'reg/*', 'other/*', 'reg/app:v?', '*:v2', 'reg/app:v1');
    const image = fc.constantFrom('reg/app:v1', 'reg/app:v2', 'other/x:v1');
    const entry = fc.record({ imageReference: pattern, type: fc.array(fc.record({ name }), { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), image, (attestations, reference) => {
        const expected = new Set(attestations.filter((e) => wildcardMatch(e.imageReference, reference)).flatMap((e) => e.type.map((t) => t.name)));
        const required = requiredAttestations(attestations, written(reference)).map((r) => r.type);
        assert.equal(required.length, new Set(required).size);
        assert.deepEqual(new Set(required), expected);
      }),
    );
  });
});
