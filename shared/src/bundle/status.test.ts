import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trustPolicyStatusSchema } from '../crd/trust-policy.js';
import { trustStoreStatusSchema } from '../crd/trust-store.js';
import { compileValidator } from '../crd/validate.js';
import type { ObjectStatus } from './render.js';
import { resourceStatus } from './status.js';

const VERSION = 'ab'.repeat(32);
const T0 = new Date('2030-01-01T00:00:00.123Z');
const T1 = new Date('2030-01-02T00:00:00Z');

const notReady: ObjectStatus = {
  kind: 'TrustPolicy',
  name: 'p',
  generation: 4,
  ready: false,
  reason: 'UnknownTrustStore',
  message: 'spec.trustPolicies[0].trustStores[0]: trust store "ca:x" does not exist',
  problems: [],
  key: 'p',
  resolvedTrustStores: [],
};

// What the API server would check on the status subresource.
const validPolicyStatus = compileValidator(trustPolicyStatusSchema, { strict: true });
const validStoreStatus = compileValidator(trustStoreStatusSchema, { strict: true });

describe('resourceStatus', () => {
  it('writes the Ready condition, generation and bundle version of a TrustPolicy', () => {
    assert.deepEqual(validPolicyStatus(resourceStatus(notReady, { bundleVersion: VERSION, now: T0 })), []);
    assert.deepEqual(resourceStatus(notReady, { bundleVersion: VERSION, now: T0 }), {
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'UnknownTrustStore',
          message: notReady.message,
          lastTransitionTime: '2030-01-01T00:00:00Z',
          observedGeneration: 4,
        },
      ],
      observedGeneration: 4,
      bundleVersion: VERSION,
      bundleVersionShort: VERSION.slice(0, 12),
      resolvedTrustStores: [],
    });
  });

  it('keeps lastTransitionTime while Ready keeps its status, and other conditions untouched', () => {
    const first = resourceStatus(notReady, { bundleVersion: VERSION, now: T0 });
    const other = { type: 'Other', status: 'True' as const, reason: 'X', message: '', lastTransitionTime: '2020-01-01T00:00:00Z' };
    const previous = { conditions: [other, ...(first.conditions ?? [])] };
    const same = resourceStatus({ ...notReady, reason: 'InvalidRegistryScope', message: 'other problem' }, { bundleVersion: VERSION, now: T1, previous });
    assert.deepEqual(
      same.conditions?.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]),
      [
        ['Other', 'True', 'X', '2020-01-01T00:00:00Z'],
        ['Ready', 'False', 'InvalidRegistryScope', '2030-01-01T00:00:00Z'],
      ],
    );
    const flipped = resourceStatus(
      { ...notReady, ready: true, reason: 'InBundle', policyVersion: 'cd'.repeat(32) },
      { bundleVersion: VERSION, now: T1, previous },
    );
    const ready = flipped.conditions?.at(-1);
    assert.ok(ready);
    assert.deepEqual([ready.status, ready.lastTransitionTime], ['True', '2030-01-02T00:00:00Z']);
    assert.equal((flipped as { policyVersion?: string }).policyVersion, 'cd'.repeat(32));
    assert.deepEqual(validPolicyStatus(flipped), []);
  });

  it('writes certificate count and earliest expiry for a TrustStore', () => {
    const status = resourceStatus(
      {
        kind: 'TrustStore',
        name: 's',
        ready: true,
        reason: 'InBundle',
        message: 'in bundle',
        problems: [],
        certificateCount: 2,
        earliestExpiry: '2050-01-01T00:00:00Z',
      },
      { bundleVersion: VERSION, now: T0 },
    );
    assert.deepEqual(validStoreStatus(status), []);
    assert.deepEqual(status, {
      conditions: [{ type: 'Ready', status: 'True', reason: 'InBundle', message: 'in bundle', lastTransitionTime: '2030-01-01T00:00:00Z' }],
      bundleVersion: VERSION,
      bundleVersionShort: VERSION.slice(0, 12),
      certificateCount: 2,
      earliestExpiry: '2050-01-01T00:00:00Z',
    });
  });
});
