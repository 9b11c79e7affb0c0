// Up-front validation of a request's `attestations` (docs/architecture.md "The HTTP contract":
// a malformed request is a 400 with what is wrong and where). It runs before any image is resolved or
// verified, so a typo in a policy is a 400 naming the JSON path, never a 406 about some image, and never
// a half-done request. Beyond the original's checks (empty imageReference, empty type name, null
// condition key/value) it checks everything the evaluation would otherwise only discover on a payload:
// the condition shapes, operator names and `{{ }}` expressions (shared validateConditions), and that the
// conditions can be hashed into a cache key.
import { KnaError } from '@kna/shared/errors';
import { canonicalJson } from '@kna/shared/canonical';
import { validateConditions } from '@kna/shared/conditions';
import { VERIFIER_ERR_BAD_REQUEST } from '../errors.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// No image reference contains whitespace or control characters (distribution reference grammar), so a
// pattern holding one can never match: the attestation it guards would silently never be required.
const NEVER_IN_A_REFERENCE = /[\s\p{Cc}]/u;

function bad(path: string, detail: string): never {
  throw new VERIFIER_ERR_BAD_REQUEST(`${path}: ${detail}`);
}

function checkPattern(value: unknown, path: string): void {
  if (typeof value !== 'string' || value === '') bad(path, 'image reference cannot be empty; use "*" for every image');
  if (NEVER_IN_A_REFERENCE.test(value)) {
    bad(path, `${JSON.stringify(value)} contains whitespace or a control character, which no image reference has, so it would never match`);
  }
}

function checkTypeName(value: unknown, path: string): void {
  if (typeof value !== 'string' || value === '') bad(path, 'attestation name cannot be empty; give the artifactType of the referrer');
  if (NEVER_IN_A_REFERENCE.test(value)) bad(path, `${JSON.stringify(value)} contains whitespace or a control character, which no artifactType has`);
}

/** The original rejects a null key or value (`condition key cannot be empty`), Kyverno's evaluation has no use for them. */
function checkKeysAndValues(conditions: unknown, path: string): void {
  const blocks = Array.isArray(conditions) ? conditions.map((b, i) => [b, `${path}[${i}]`] as const) : [[conditions, path] as const];
  for (const [block, blockPath] of blocks) {
    if (!isObject(block)) continue;
    for (const list of ['any', 'all'] as const) {
      const items = block[list];
      if (!Array.isArray(items)) continue;
      items.forEach((condition: unknown, i) => {
        if (!isObject(condition)) return;
        const at = `${blockPath}.${list}[${i}]`;
        if (condition.key === null || condition.key === undefined) bad(`${at}.key`, 'condition key cannot be empty');
        if (condition.value === null || condition.value === undefined) bad(`${at}.value`, 'condition value cannot be empty');
      });
    }
  }
}

/**
 * Throws a bad-request KnaError (400) naming the JSON path of the first problem of `attestations`,
 * e.g. `attestations[0].type[1].conditions.all[0].operator: unknown condition operator "Equalz"`.
 */
export function validateAttestations(attestations: unknown): void {
  if (attestations === undefined || attestations === null) return;
  if (!Array.isArray(attestations)) bad('attestations', 'must be a list');
  attestations.forEach((entry: unknown, i) => {
    const at = `attestations[${i}]`;
    if (!isObject(entry)) bad(at, 'must be an object with imageReference and type');
    checkPattern(entry.imageReference, `${at}.imageReference`);
    if (!Array.isArray(entry.type)) bad(`${at}.type`, 'must be a list of {name, conditions}');
    entry.type.forEach((type: unknown, j) => {
      const typeAt = `${at}.type[${j}]`;
      if (!isObject(type)) bad(typeAt, 'must be an object with name and conditions');
      checkTypeName(type.name, `${typeAt}.name`);
      const conditions = type.conditions;
      if (conditions === undefined || conditions === null) return;
      validateConditions(conditions, `${typeAt}.conditions`);
      checkKeysAndValues(conditions, `${typeAt}.conditions`);
      try {
        canonicalJson(conditions);
      } catch (err) {
        // Only a string that is not valid Unicode (a lone \ud800 escape) gets here from parsed JSON.
        bad(`${typeAt}.conditions`, err instanceof KnaError ? err.message : String(err));
      }
    });
  });
}
