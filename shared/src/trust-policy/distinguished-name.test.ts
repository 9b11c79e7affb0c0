import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSubsetDistinguishedName, parseDistinguishedName } from './distinguished-name.js';

function parsed(text: string): Record<string, string> {
  const result = parseDistinguishedName(text);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return Object.fromEntries(result.dn);
}

function error(text: string): string {
  const result = parseDistinguishedName(text);
  assert.ok(!result.ok, `${text} should be rejected`);
  return result.error;
}

describe('parseDistinguishedName (notation x509.subject rules)', () => {
  it('parses RFC 4514 names with escapes and spaces', () => {
    assert.deepEqual(parsed(' C=US, ST=WA, O=Example Corp, CN=build  '), { C: 'US', ST: 'WA', O: 'Example Corp', CN: 'build' });
    assert.deepEqual(parsed('C=US;S=WA;O=A\\, B\\+C\\=D'), { C: 'US', ST: 'WA', O: 'A, B+C=D' });
    assert.deepEqual(parsed('C=DE,ST=Berlin,O=M\\C3\\BCller\\20'), { C: 'DE', ST: 'Berlin', O: 'Müller ' });
    assert.deepEqual(parsed('C=US,ST=WA,O=a=b,2.5.4.3=x'), { C: 'US', ST: 'WA', O: 'a=b', '2.5.4.3': 'x' });
  });

  it('requires C, ST (or S) and O, case-sensitively', () => {
    assert.equal(error('CN=x'), 'missing C, ST, O: the subject must contain at least C, ST and O');
    assert.equal(
      error('c=US, st=WA, O=x'),
      'missing C, ST: the subject must contain at least C, ST and O (attribute types are case-sensitive: write C, ST in uppercase)',
    );
    assert.equal(error(''), 'missing C, ST, O: the subject must contain at least C, ST and O');
  });

  it('rejects multi-valued RDNs, duplicates, "=#" values and malformed text', () => {
    assert.match(error('C=US+O=x, ST=WA'), /multi-valued RDN "C\+O"/);
    assert.match(error('C=US, ST=WA, S=OR, O=x'), /attribute ST appears more than once/);
    assert.match(error('C=US, ST=WA, O=#0403616263'), /"=#<BER hex>" are not supported/);
    assert.match(error('C=US, ST=WA, O'), /no "type=value" pair/);
    assert.match(error('C=US, ST=WA, O=x\\'), /invalid escape/);
    assert.match(error('C=US, ST=WA, O=x\\zz'), /invalid escape/);
    assert.match(error('C=US, S T=WA, O=x'), /invalid attribute type "S T"/);
  });
});

describe('isSubsetDistinguishedName', () => {
  it('is true when every attribute of the first is in the second', () => {
    const a = new Map([
      ['C', 'US'],
      ['O', 'x'],
    ]);
    const b = new Map([
      ['C', 'US'],
      ['O', 'x'],
      ['CN', 'y'],
    ]);
    assert.ok(isSubsetDistinguishedName(a, b));
    assert.ok(!isSubsetDistinguishedName(b, a));
    assert.ok(!isSubsetDistinguishedName(new Map([['C', 'DE']]), b));
  });
});
