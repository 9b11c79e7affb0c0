import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QuantityFormat, parseQuantity, quantityFromInteger } from './quantity.js';

const q = (text: string) => {
  const parsed = parseQuantity(text);
  assert.ok(parsed, `expected ${text} to parse`);
  return parsed;
};

// Canonical forms are apimachinery's (quantity_test.go TestQuantityParse / TestQuantityString).
describe('parseQuantity + canonical String()', () => {
  const canonical: [string, string][] = [
    ['0', '0'],
    ['0n', '0'],
    ['0Ki', '0'],
    ['1', '1'],
    ['5', '5'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1.5', '1500m'],
    ['0.1', '100m'],
    ['100m', '100m'],
    ['0.1m', '100u'],
    ['1n', '1n'],
    ['0.0000000001', '1n'], // rounded up to the nano unit
    ['-0.0000000001', '-1n'],
    ['1k', '1k'],
    ['1M', '1M'],
    ['12M', '12M'],
    ['1E', '1E'],
    ['1Ki', '1Ki'],
    ['1024Ki', '1Mi'],
    ['1Gi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Ki', '512'],
    ['1023', '1023'],
    ['-1Ki', '-1Ki'],
    ['1e3', '1e3'],
    ['1E3', '1e3'],
    ['12e6', '12e6'],
    ['1.5e3', '1500'],
    ['1e-3', '1e-3'],
    ['+5', '5'],
    ['.5', '500m'],
    ['1.', '1'],
    ['1.G', '1G'],
    ['Gi', '0'], // Go's scanner reads an empty number as zero
    ['-', '0'],
    ['e3', '0'],
  ];
  for (const [input, expected] of canonical) {
    it(`${input} → ${expected}`, () => assert.equal(q(input).toString(), expected));
  }

  const invalid = ['', ' 1', '1 ', '1.5.5', '1i', '1Kib', '1e', '1 Gi', 'abc', '1k3', '1e1.5', '1h', '10s', '1m1'];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseQuantity(input), undefined));
  }

  it('remembers the format of the suffix', () => {
    assert.equal(q('1Gi').format, QuantityFormat.BinarySI);
    assert.equal(q('1G').format, QuantityFormat.DecimalSI);
    assert.equal(q('1e9').format, QuantityFormat.DecimalExponent);
    assert.equal(q('0.5Ki').format, QuantityFormat.BinarySI);
    assert.equal(q('0.0005Ki').format, QuantityFormat.DecimalSI); // a BinarySI amount below one
  });
});

describe('Quantity comparison and arithmetic', () => {
  it('compares exact values across suffixes (Kyverno: "1Gi" Equals "1024Mi")', () => {
    assert.ok(q('1Gi').equals(q('1024Mi')));
    assert.ok(q('1Ki').equals(q('1024')));
    assert.ok(q('3.17').equals(q('3.170')));
    assert.equal(q('1Gi').cmp(q('1G')), 1);
    assert.equal(q('500m').cmp(q('0.5')), 0);
    assert.equal(q('1023').cmp(q('1Ki')), -1);
  });

  it('adds and subtracts keeping the left format (apimachinery Add/Sub)', () => {
    assert.equal(q('12Ki').add(q('13Ki')).toString(), '25Ki');
    assert.equal(q('12Ki').add(q('13')).toString(), '12301');
    assert.equal(q('12Ki').sub(q('13Ki')).toString(), '-1Ki');
    assert.equal(q('12Ki').sub(q('13')).toString(), '12275');
    assert.equal(q('0').add(q('1Ki')).toString(), '1Ki'); // a zero takes the other format
    assert.equal(q('1Gi').add(q('512Mi')).toString(), '1536Mi');
  });

  it('divides with truncation at a scale and builds integer quantities', () => {
    assert.equal(q('12Ki').quoRoundDown(q('3'), 0).toString(), '4Ki');
    assert.equal(quantityFromInteger(2048n, QuantityFormat.BinarySI).toString(), '2Ki');
    assert.equal(q('256M').toApproximateNumber() / q('512M').toApproximateNumber(), 0.5);
  });

  it('ordering agrees with the numeric value for decimal integers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: -1e9, max: 1e9 }), (a, b) => {
        const expected = a < b ? -1 : a > b ? 1 : 0;
        assert.equal(q(String(a)).cmp(q(String(b))), expected);
      }),
    );
  });

  it('canonical output parses back to an equal quantity', () => {
    const suffix = fc.constantFrom('', 'm', 'k', 'M', 'G', 'Ki', 'Mi', 'Gi', 'e3', 'e-2', 'n', 'u');
    fc.assert(
      fc.property(fc.integer({ min: -99999, max: 99999 }), fc.integer({ min: 0, max: 999 }), suffix, (i, f, s) => {
        const original = q(`${String(i)}.${String(f)}${s}`);
        const again = q(original.toString());
        assert.ok(original.equals(again), `${original.toString()} did not round-trip`);
      }),
    );
  });
});
