import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ERR_NOT_JSON, canonicalJson, canonicalObjectText, sha256Hex } from './canonical.js';

// JSON itself cannot tell -0 from 0; compare values the way JSON sees them.
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

// Rebuilds every object of `value` with its keys inserted in an order chosen by `order`.
function permuteKeys(value: unknown, order: (keys: string[]) => string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => permuteKeys(item, order));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of order(Object.keys(record))) {
    Object.defineProperty(out, key, { value: permuteKeys(record[key], order), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

describe('canonicalJson', () => {
  it('sorts keys and removes whitespace at every depth', () => {
    assert.equal(canonicalJson({ b: [3, { z: 1, a: null }], a: 'x', c: { y: true, x: false } }), '{"a":"x","b":[3,{"a":null,"z":1}],"c":{"x":false,"y":true}}');
  });

  it('formats numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    assert.equal(canonicalJson([1.0, -0, 0.1, 1e21, 1e-7, 123456789012345680000, -5.5]), '[1,0,0.1,1e+21,1e-7,123456789012345680000,-5.5]');
  });

  it('escapes strings like JSON.stringify and sorts keys by UTF-16 code units', () => {
    assert.equal(canonicalJson('a"\\\u0001\n\u2028é'), '"a\\"\\\\\\u0001\\n\u2028é"');
    // U+FB33 precedes U+1F600 by code point, but its UTF-16 unit 0xFB33 sorts after the surrogate 0xD83D.
    assert.equal(canonicalJson({ '\uFB33': 1, '\u{1F600}': 2, a: 3 }), '{"a":3,"\u{1F600}":2,"\uFB33":1}');
  });

  it('keeps a "__proto__" key as data', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"a":2}') as unknown;
    assert.equal(canonicalJson(value), '{"__proto__":{"x":1},"a":2}');
  });

  it('refuses values JSON cannot represent, naming the path', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /cannot canonicalise \$: undefined is not a JSON value/],
      [{ a: { b: undefined } }, /\$\.a\.b: undefined/],
      [{ 'x-y': [1, () => 1] }, /\$\["x-y"\]\[1\]: a function/],
      [[Number.NaN], /\$\[0\]: NaN is not a JSON number/],
      [{ n: Number.POSITIVE_INFINITY }, /\$\.n: Infinity/],
      [{ d: new Date(0) }, /\$\.d: an instance of Date is not a plain JSON object/],
      [new Map(), /an instance of Map/],
      [10n, /a bigint/],
      [{ s: Symbol('x') }, /a symbol/],
      [{ [Symbol('k')]: 1 }, /symbol keys/],
      ['\uD800x', /lone UTF-16 surrogate/],
      [{ '\uDC00': 1 }, /key contains a lone UTF-16 surrogate/],
      // eslint-disable-next-line no-sparse-arrays
      [[1, , 3], /\$\[1\]: undefined/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => canonicalJson(value),
        (err: unknown) => err instanceof ERR_NOT_JSON && message.test(err.message),
        String(message),
      );
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), /\$\.self: the value contains a cycle/);
  });

  it('accepts a shared (non-cyclic) sub-object twice', () => {
    const shared = { k: 1 };
    assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"k":1},"b":{"k":1}}');
    assert.equal(canonicalJson(Object.create(null) as object), '{}');
  });

  it('property: key order never changes the text or the hash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const shuffled = permuteKeys(value, (keys) => {
          // Deterministic shuffle driven by the seed (Fisher–Yates with a small LCG).
          let state = seed >>> 0;
          const copy = [...keys];
          for (let i = copy.length - 1; i > 0; i--) {
            state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
            const j = state % (i + 1);
            [copy[i], copy[j]] = [copy[j]!, copy[i]!];
          }
          return copy;
        });
        const reversed = permuteKeys(value, (keys) => [...keys].reverse());
        assert.equal(canonicalJson(shuffled), canonicalJson(value));
        assert.equal(canonicalJson(reversed), canonicalJson(value));
        assert.equal(sha256Hex(canonicalJson(shuffled)), sha256Hex(canonicalJson(value)));
      }),
    );
  });

  it('property: parse(canonical(x)) deep-equals x and canonicalisation is idempotent', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        assert.deepEqual(JSON.parse(text), asJson(value));
        assert.equal(canonicalJson(JSON.parse(text)), text);
        // No whitespace outside string literals.
        assert.doesNotMatch(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/);
      }),
    );
  });

  it('property: values that differ as JSON give different texts and hashes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        if (isDeepStrictEqual(asJson(a), asJson(b))) assert.equal(canonicalJson(a), canonicalJson(b));
        else {
          assert.notEqual(canonicalJson(a), canonicalJson(b));
          assert.notEqual(sha256Hex(canonicalJson(a)), sha256Hex(canonicalJson(b)));
        }
      }),
    );
  });

  it('property: adding, removing or changing one member changes the text', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), fc.jsonValue(), (record, key, value) => {
        const base = canonicalJson(record);
        const changed = { ...record, [key]: value };
        if (!Object.hasOwn(record, key) || !isDeepStrictEqual(asJson(record[key]), asJson(value))) assert.notEqual(canonicalJson(changed), base);
        const { [key]: _removed, ...rest } = record;
        if (Object.hasOwn(record, key)) assert.notEqual(canonicalJson(rest), base);
      }),
    );
  });
});

describe('sha256Hex', () => {
  it('hashes the UTF-8 bytes', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // 'é' is the two UTF-8 bytes c3 a9, not the Latin-1 byte e9.
    assert.equal(sha256Hex('\u00e9'), '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('canonicalObjectText', () => {
  it('gives canonicalJson of the object whose members it is given as canonical texts, in any order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.boolean(), (record, reverse) => {
        const members = Object.entries(record).map(([key, value]): [string, string] => [key, canonicalJson(value)]);
        if (reverse) members.reverse();
        assert.equal(canonicalObjectText(members), canonicalJson(record));
      }),
    );
  });

  it('refuses a key given twice and keys that are not valid Unicode', () => {
    assert.throws(
      () =>
        canonicalObjectText([
          ['a', '1'],
          ['a', '2'],
        ]),
      (err: unknown) => err instanceof ERR_NOT_JSON && /given twice/.test((err as Error).message),
    );
    assert.throws(() => canonicalObjectText([['\uD800', '1']]), ERR_NOT_JSON);
  });
});
