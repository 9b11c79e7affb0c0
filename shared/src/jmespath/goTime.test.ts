import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatRFC3339, goTimeFields, goTimeTruncate, parseGoTime, parseRFC3339 } from './goTime.js';

const iso = (text: string): string => formatRFC3339(parseRFC3339(text));

describe('time.Parse(time.RFC3339, …) and Format(time.RFC3339)', () => {
  it('keeps the written offset and drops fractional seconds when printing', () => {
    assert.equal(iso('2021-01-02T15:04:05Z'), '2021-01-02T15:04:05Z');
    assert.equal(iso('2021-01-02T15:04:05.999999999+05:30'), '2021-01-02T15:04:05+05:30');
    assert.equal(iso('2021-01-02T15:04:05-00:00'), '2021-01-02T15:04:05Z');
  });
  it('reads the instant exactly, to the nanosecond', () => {
    assert.equal(parseRFC3339('1970-01-01T00:00:01.000000001Z').ns, 1_000_000_001n);
    assert.equal(parseRFC3339('1970-01-01T01:00:00+01:00').ns, 0n);
  });
  for (const bad of [
    '2021-01-02 15:04:05Z',
    '2021-01-02T15:04:05',
    '2021-02-30T00:00:00Z',
    '2021-13-01T00:00:00Z',
    '2021-01-02T24:00:00Z',
    '21-01-02T15:04:05Z',
    '2021-01-02T15:04:05Zjunk',
    '',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseRFC3339(bad)));
  }
  it('round-trips every second-precision instant of years 1–9999', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        const text = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
        assert.equal(iso(text), text);
      }),
    );
  });
});

describe('time.Parse with Go layouts', () => {
  const cases: [layout: string, value: string, expected: string][] = [
    ['2006-01-02', '2023-04-05', '2023-04-05T00:00:00Z'],
    ['Mon Jan 02 2006 15:04:05 -0700', 'Wed Jun 22 2022 17:45:00 +0100', '2022-06-22T17:45:00+01:00'],
    ['Jan _2 2006 3:04PM', 'Feb  3 2021 1:05PM', '2021-02-03T13:05:00Z'],
    ['January 2, 2006 15:04 MST', 'March 7, 2020 08:09 UTC', '2020-03-07T08:09:00Z'],
    ['02/01/06 15:04:05.000', '31/12/99 23:59:58.123', '1999-12-31T23:59:58Z'],
    ['2006-002', '2024-060', '2024-02-29T00:00:00Z'],
    ['2006-01-02T15:04:05Z07:00', '2020-02-29T12:00:00.5-03:00', '2020-02-29T12:00:00-03:00'],
    ['15:04', '10:30', '0000-01-01T10:30:00Z'],
  ];
  for (const [layout, value, expected] of cases) {
    it(`${layout} reads ${value}`, () => assert.equal(formatRFC3339(parseGoTime(layout, value)), expected));
  }
  it('rejects values that do not fit the layout', () => {
    assert.throws(() => parseGoTime('2006-01-02', '2023-4-05'), /parsing time/);
    assert.throws(() => parseGoTime('Jan 2', 'Foo 2'));
    assert.throws(() => parseGoTime('2006-01-02', '2023-02-29'), /day out of range/);
  });
});

describe('time fields and truncation', () => {
  it('weekday and wall clock come from the time’s own offset', () => {
    const t = parseRFC3339('2023-02-02T23:30:00-02:00'); // already Friday in UTC
    const f = goTimeFields(t);
    assert.deepEqual([f.day, f.hour, f.weekday], [2, 23, 4]);
  });
  it('Truncate counts from January 1 of year 1', () => {
    const t = parseRFC3339('2023-02-02T15:04:05Z');
    assert.equal(formatRFC3339(goTimeTruncate(t, 7n * 3_600_000_000_000n)), '2023-02-02T12:00:00Z');
    assert.equal(formatRFC3339(goTimeTruncate(t, 0n)), '2023-02-02T15:04:05Z');
  });
});
