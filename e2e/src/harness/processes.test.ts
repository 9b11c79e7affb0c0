import { it } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts } from './processes.js';

it('freePorts hands out distinct ports when asked for several together', async () => {
  for (let round = 0; round < 20; round++) {
    const ports = await freePorts(4);
    assert.equal(ports.length, 4);
    assert.equal(new Set(ports).size, 4, `duplicate in ${ports.join(', ')}`);
    assert.ok(ports.every((p) => p > 0));
  }
});
