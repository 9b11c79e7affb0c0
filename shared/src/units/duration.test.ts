import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DurationUnit as U, durationFromNumberOfSeconds, durationSeconds, formatGoDuration, parseGoDuration } from './duration.js';

// Expected values are Go's: the cases of time_test.go parseDurationTests / durationTests.
describe('parseGoDuration (time.ParseDuration)', () => {
  const ok: [string, bigint][] = [
    ['0', 0n],
    ['5s', 5n * U.Second],
    ['1478s', 1478n * U.Second],
    ['-5s', -5n * U.Second],
    ['+5s', 5n * U.Second],
    ['-0', 0n],
    ['+0', 0n],
    ['5.0s', 5n * U.Second],
    ['5.6s', 5n * U.Second + 600n * U.Millisecond],
    ['5.s', 5n * U.Second],
    ['.5s', 500n * U.Millisecond],
    ['1.004s', U.Second + 4n * U.Millisecond],
    ['100.00100s', 100n * U.Second + U.Millisecond],
    ['10ns', 10n],
    ['11us', 11n * U.Microsecond],
    ['12\u00b5s', 12n * U.Microsecond],
    ['12\u03bcs', 12n * U.Microsecond],
    ['13ms', 13n * U.Millisecond],
    ['15m', 15n * U.Minute],
    ['16h', 16n * U.Hour],
    ['3h30m', 3n * U.Hour + 30n * U.Minute],
    ['10.5s4m', 4n * U.Minute + 10n * U.Second + 500n * U.Millisecond],
    ['-2m3.4s', -(2n * U.Minute + 3n * U.Second + 400n * U.Millisecond)],
    ['1h2m3s4ms5us6ns', U.Hour + 2n * U.Minute + 3n * U.Second + 4n * U.Millisecond + 5n * U.Microsecond + 6n],
    ['39h9m14.425s', 39n * U.Hour + 9n * U.Minute + 14n * U.Second + 425n * U.Millisecond],
    ['52763797000ns', 52763797000n],
    ['0.3333333333333333333h', 20n * U.Minute],
    ['9007199254740993ns', (1n << 53n) + 1n],
    ['9223372036854775807ns', (1n << 63n) - 1n],
    ['9223372036854775.807us', (1n << 63n) - 1n],
    ['9223372036854ms775us807ns', (1n << 63n) - 1n],
    ['-9223372036854775808ns', -(1n << 63n)],
    ['-2562047h47m16.854775808s', -(1n << 63n)],
    ['0.100000000000000000000h', 6n * U.Minute],
    ['0.830103483285477580700h', 49n * U.Minute + 48n * U.Second + 372539827n],
    ['1.5h', 90n * U.Minute],
    ['168h', 168n * U.Hour],
  ];
  for (const [text, expected] of ok) {
    it(`parses ${JSON.stringify(text)}`, () => assert.equal(parseGoDuration(text), expected));
  }
  const bad = [
    '',
    '3',
    '-',
    's',
    '.',
    '-.',
    '.s',
    '+.s',
    '1d',
    '1h-1m',
    '1 h',
    ' 1h',
    '9223372036854775808ns',
    '9223372036854775.808us',
    '9223372036854ms775us808ns',
    '-9223372036854775809ns',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseGoDuration(text), undefined));
  }
});

describe('formatGoDuration (Duration.String)', () => {
  const cases: [bigint, string][] = [
    [0n, '0s'],
    [1n, '1ns'],
    [1100n, '1.1\u00b5s'],
    [2200n * U.Microsecond, '2.2ms'],
    [3300n * U.Millisecond, '3.3s'],
    [4n * U.Minute + 5n * U.Second, '4m5s'],
    [4n * U.Minute + 5001n * U.Millisecond, '4m5.001s'],
    [5n * U.Hour + 6n * U.Minute + 7001n * U.Millisecond, '5h6m7.001s'],
    [8n * U.Minute + 1n, '8m0.000000001s'],
    [U.Hour, '1h0m0s'],
    [35n * U.Hour + 2n * U.Minute + 1500n * U.Millisecond, '35h2m1.5s'],
    [(1n << 63n) - 1n, '2562047h47m16.854775807s'],
    [-(1n << 63n), '-2562047h47m16.854775808s'],
    [-1500n * U.Millisecond, '-1.5s'],
  ];
  for (const [value, expected] of cases) {
    it(`formats ${value.toString()}ns as ${expected}`, () => assert.equal(formatGoDuration(value), expected));
  }

  it('round-trips every int64 duration through parse', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (ns) => {
        assert.equal(parseGoDuration(formatGoDuration(ns)), ns);
      }),
    );
  });
});

describe('duration helpers', () => {
  it('Seconds() splits whole seconds and nanoseconds like Go', () => {
    assert.equal(durationSeconds(1500n * U.Millisecond), 1.5);
    assert.equal(durationSeconds(-U.Hour), -3600);
  });
  it('a JSON number of seconds is truncated to whole seconds (Go int64 conversion)', () => {
    assert.equal(durationFromNumberOfSeconds(3600), U.Hour);
    assert.equal(durationFromNumberOfSeconds(1.9), U.Second);
    assert.equal(durationFromNumberOfSeconds(-1.9), -U.Second);
  });
});
