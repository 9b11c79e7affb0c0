import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareSemVer, parseSemVer, parseSemVerRange } from './semver.js';

const v = (text: string) => {
  const parsed = parseSemVer(text);
  assert.ok(parsed, `expected ${text} to parse`);
  return parsed;
};

describe('parseSemVer (blang semver.Parse, strict)', () => {
  for (const text of ['1.2.3', '0.0.0', '1.2.3-alpha', '1.2.3-alpha.1', '1.2.3+build.5', '1.2.3-rc.1+b', '10.20.30']) {
    it(`accepts ${text}`, () => assert.ok(parseSemVer(text)));
  }
  for (const text of ['v1.2.3', '1.2', '1', '01.2.3', '1.02.3', '1.2.3-01', '1.2.3-', '1.2.3+', '1.2.3-a..b', 'a.b.c', '']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseSemVer(text), undefined));
  }
});

describe('compareSemVer (semver §11 precedence)', () => {
  it('orders the semver.org example chain', () => {
    const chain = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '2.0.0',
    ];
    for (let i = 1; i < chain.length; i++) {
      assert.equal(compareSemVer(v(chain[i - 1] ?? ''), v(chain[i] ?? '')), -1, `${chain[i - 1] ?? ''} < ${chain[i] ?? ''}`);
      assert.equal(compareSemVer(v(chain[i] ?? ''), v(chain[i - 1] ?? '')), 1);
    }
  });
  it('ignores build metadata', () => assert.equal(compareSemVer(v('1.0.0+a'), v('1.0.0+b')), 0));
});

describe('parseSemVerRange (blang semver.ParseRange)', () => {
  const cases: [string, string, boolean][] = [
    ['1.2.3', '1.2.3', true],
    ['=1.2.3', '1.2.3', true],
    ['==1.2.3', '1.2.4', false],
    ['!1.2.3', '1.2.4', true],
    ['!=1.2.3', '1.2.3', false],
    ['>1.2.3', '1.2.4', true],
    ['>=1.2.3', '1.2.3', true],
    ['<1.2.3', '1.2.2', true],
    ['<=1.2.3', '1.2.4', false],
    ['>= 1.2.3', '1.3.0', true],
    ['>=1.0.0 <2.0.0', '1.5.0', true],
    ['>=1.0.0 <2.0.0', '2.0.0', false],
    ['>=1.0.0 <2.0.0 || >3.0.0', '3.1.0', true],
    ['>=1.0.0 <2.0.0 || >3.0.0', '2.5.0', false],
    ['>=1.0.0', '1.2.0-beta', true], // blang ranges do not exclude prereleases
    ['1.x', '1.9.9', true],
    ['1.x', '2.0.0', false],
    ['1.2.x', '1.2.7', true],
    ['>1.x', '2.0.0', true],
    ['>1.x', '1.9.0', false],
    ['<=1.2.x', '1.2.9', true],
    ['<=1.2.x', '1.3.0', false],
    ['!=1.x', '2.1.0', true],
  ];
  for (const [range, version, expected] of cases) {
    it(`${JSON.stringify(range)} ${expected ? 'matches' : 'rejects'} ${version}`, () => {
      assert.equal(parseSemVerRange(range)(v(version)), expected);
    });
  }
  for (const range of ['1.2', '>>1.2.3', '<1.2.3 ||', '|| >1.0.0', '1.2.3 || || 2.0.0', '~1.2.3', 'abc', '']) {
    it(`rejects ${JSON.stringify(range)}`, () => assert.throws(() => parseSemVerRange(range)));
  }
});
