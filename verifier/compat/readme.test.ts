import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CASES } from './cases.js';
import { README, compatibilitySection } from './readme.js';

describe('compatibility section', () => {
  it('README.md carries the section generated from the cases (run `pnpm compat -- --readme` after changing them)', () => {
    assert.ok(readFileSync(README, 'utf8').includes(compatibilitySection()), 'README.md is stale: run pnpm compat -- --readme');
  });

  it('every intended difference has a reason and says what a v1.1 policy changes', () => {
    for (const c of CASES) {
      if (!('differs' in c.expect)) continue;
      assert.ok(c.expect.reason.trim().length > 20, `${c.id}: no reason`);
      assert.ok(c.expect.policyChange.trim().length > 0, `${c.id}: no policy change stated`);
    }
  });

  it('case ids are unique', () => {
    const ids = CASES.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
  });
});
