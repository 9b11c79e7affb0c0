import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toMicroTime } from './microTime.js';

describe('toMicroTime', () => {
  it('writes six fractional digits, in UTC', () => {
    assert.equal(toMicroTime(new Date('2026-01-02T03:04:05.123Z')), '2026-01-02T03:04:05.123000Z');
    assert.equal(toMicroTime(new Date('2026-01-02T04:04:05.007+01:00')), '2026-01-02T03:04:05.007000Z');
  });

  it('keeps the zero fraction (the API server needs the digits even then)', () => {
    assert.equal(toMicroTime(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05.000000Z');
  });

  it('defaults to now', () => {
    const before = Date.now();
    const value = toMicroTime();
    const after = Date.now();
    assert.match(value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const parsed = Date.parse(value);
    assert.ok(parsed >= before && parsed <= after, `${value} is not between ${before} and ${after}`);
  });

  it('round-trips through Date at millisecond resolution', () => {
    for (const ms of [-1, 0, 1, 999, 1_767_323_045_123, 253_402_300_799_999]) {
      assert.equal(Date.parse(toMicroTime(ms)), ms);
    }
  });

  it('refuses what no MicroTime can hold', () => {
    assert.throws(() => toMicroTime(Number.NaN), RangeError);
    assert.throws(() => toMicroTime(new Date('+010000-01-01T00:00:00Z')), RangeError);
    assert.throws(() => toMicroTime(new Date('-000001-01-01T00:00:00Z')), RangeError);
  });
});
