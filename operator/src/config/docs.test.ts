import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { README, withFlagTable } from './docs.js';

it('the README lists every operator flag as the code defines it (run `pnpm docs` after changing flags)', () => {
  const readme = readFileSync(README, 'utf8');
  assert.equal(readme, withFlagTable(readme));
});
