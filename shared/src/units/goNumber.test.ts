import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goFormatFloat, goFormatFloat32, goParseFloat, goParseInt, goSprint } from './goNumber.js';

// Expected strings are what Go 1.22 prints for fmt.Sprint(float64(x)) and
// strconv.FormatFloat(x, 'f', -1, 32).
describe('goFormatFloat (fmt %v of a float64)', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [5, '5'],
    [1.5, '1.5'],
    [-2.25, '-2.25'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e21, '1e+21'],
    [1.002, '1.002'],
    [Infinity, '+Inf'],
    [NaN, 'NaN'],
  ];
  for (const [value, expected] of cases) {
    it(`${String(value)} → ${expected}`, () => assert.equal(goFormatFloat(value), expected));
  }
  it('parses back to the same float64', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => assert.equal(goParseFloat(goFormatFloat(x)), x)));
  });
});

describe('goFormatFloat32 (FormatFloat f, -1, 32)', () => {
  const cases: [number, string][] = [
    [3.14, '3.14'],
    [1.1, '1.1'],
    [5, '5'],
    [16777217, '16777216'],
    [1e10, '10000000000'],
    [0.000001, '0.000001'],
    [-2.5, '-2.5'],
  ];
  for (const [value, expected] of cases) {
    it(`${String(value)} → ${expected}`, () => assert.equal(goFormatFloat32(value), expected));
  }
});

describe('goParseFloat / goParseInt', () => {
  it('accepts Go float syntax', () => {
    assert.equal(goParseFloat('1'), 1);
    assert.equal(goParseFloat('-1.5e3'), -1500);
    assert.equal(goParseFloat('.5'), 0.5);
    assert.equal(goParseFloat('5.'), 5);
    assert.equal(goParseFloat('+Inf'), Infinity);
    assert.equal(goParseFloat('infinity'), Infinity);
    assert.ok(Number.isNaN(goParseFloat('NaN')));
    assert.equal(goParseFloat('0x1.8p1'), 3);
    assert.equal(goParseFloat('1e-400'), 0);
  });
  it('rejects what Go rejects', () => {
    for (const text of ['', ' 1', '1 ', '1e400', 'abc', '1_000', '0x1.8', '1.5.5', '--1']) {
      assert.equal(goParseFloat(text), undefined, text);
    }
  });
  it('parses int64 decimal integers only', () => {
    assert.equal(goParseInt('42'), 42n);
    assert.equal(goParseInt('-9223372036854775808'), -(1n << 63n));
    assert.equal(goParseInt('9223372036854775808'), undefined);
    assert.equal(goParseInt('1.0'), undefined);
  });
});

describe('goSprint (fmt.Sprint of a JSON value)', () => {
  it('stringifies like Go', () => {
    assert.equal(goSprint('a'), 'a');
    assert.equal(goSprint(1), '1');
    assert.equal(goSprint(true), 'true');
    assert.equal(goSprint(null), '<nil>');
    assert.equal(goSprint([1, 'a', [2]]), '[1 a [2]]');
    assert.equal(goSprint({ b: 1, a: 'x' }), 'map[a:x b:1]');
  });
});
