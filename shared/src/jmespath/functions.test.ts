import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KYVERNO_FUNCTIONS, searchJmesPath } from './index.js';
import { ERR_JMESPATH_EVALUATION } from './errors.js';

const q = (expression: string, data: unknown = {}): unknown => searchJmesPath(expression, data);
const fails = (expression: string, data: unknown = {}) => assert.throws(() => q(expression, data), ERR_JMESPATH_EVALUATION, expression);

// One test per Kyverno function. Expected values are what Kyverno returns (its functions_test.go,
// time_test.go and arithmetic_test.go where they have the case; Go's standard library otherwise).
describe('Kyverno JMESPath functions', () => {
  it('provides the functions attestation conditions use', () => {
    for (const name of [
      'time_since',
      'time_now_utc',
      'time_after',
      'time_before',
      'time_add',
      'time_diff',
      'semver_compare',
      'regex_match',
      'pattern_match',
      'to_upper',
      'to_lower',
      'split',
      'trim',
      'trim_prefix',
      'replace_all',
      'equal_fold',
      'compare',
      'truncate',
      'base64_decode',
      'base64_encode',
      'parse_json',
      'lookup',
      'items',
      'sum',
      'add',
      'subtract',
      'multiply',
      'divide',
      'modulo',
      'round',
    ]) {
      assert.ok(KYVERNO_FUNCTIONS.includes(name), name);
    }
  });

  it('compare', () => {
    assert.equal(q("compare('a', 'b')"), -1);
    assert.equal(q("compare('b', 'a')"), 1);
    assert.equal(q("compare('b', 'b')"), 0);
    assert.equal(q("compare('\u00e9', 'z')"), 1); // UTF-8 byte order, as Go's strings.Compare
  });
  it('equal_fold', () => {
    assert.equal(q("equal_fold('Go', 'GO')"), true);
    assert.equal(q("equal_fold('\u00c9t\u00e9', '\u00e9T\u00c9')"), true);
    assert.equal(q("equal_fold('a', 'b')"), false);
  });
  it('replace', () => {
    assert.equal(q("replace('Lorem ipsum dolor sit amet', 'ipsum', 'muspi', `-1`)"), 'Lorem muspi dolor sit amet');
    assert.equal(q("replace('Lorem ipsum ipsum ipsum dolor', 'ipsum', 'muspi', `1`)"), 'Lorem muspi ipsum ipsum dolor');
    assert.equal(q("replace('abc', '', '-', `2`)"), '-a-bc');
  });
  it('replace_all', () => {
    assert.equal(q("replace_all('Lorem ipsum dolor sit amet ipsum', 'ipsum', 'muspi')"), 'Lorem muspi dolor sit amet muspi');
  });
  it('to_upper / to_lower (rune by rune, like Go)', () => {
    assert.equal(q("to_upper('abc\u00df')"), 'ABC\u00df');
    assert.equal(q("to_lower('AbC')"), 'abc');
    fails('to_upper(`1`)');
  });
  it('trim', () => assert.equal(q("trim('\u00a1\u00a1\u00a1Hello, Gophers!!!', '!\u00a1')"), 'Hello, Gophers'));
  it('trim_prefix', () => {
    assert.equal(q("trim_prefix('\u00a1\u00a1\u00a1Hello, Gophers!!!', '\u00a1\u00a1\u00a1Hello, ')"), 'Gophers!!!');
    assert.equal(q("trim_prefix('abc', 'x')"), 'abc');
  });
  it('split', () => {
    assert.deepEqual(q("split('Hello, Gophers', ', ')"), ['Hello', 'Gophers']);
    assert.deepEqual(q("split('a\u{1f600}b', '')"), ['a', '\u{1f600}', 'b']);
    assert.deepEqual(q("split('', ',')"), ['']);
  });
  it('truncate', () => {
    assert.equal(q("truncate('Lorem ipsum', `5`)"), 'Lorem');
    assert.equal(q("truncate('abc', `10`)"), 'abc');
    assert.equal(q("truncate('abc', `-1`)"), '');
  });
  it('path_canonicalize', () => {
    assert.equal(q("path_canonicalize('/a//b/../c/')"), '/a/c');
    assert.equal(q("path_canonicalize('a/../..')"), '..');
  });
  it('to_boolean', () => {
    assert.equal(q("to_boolean('TrUe')"), true);
    assert.equal(q("to_boolean('false')"), false);
    fails("to_boolean('yes')");
  });
  it('regex_match (Go RE2 syntax, unanchored, numbers as text)', () => {
    assert.equal(q("regex_match('^[0-9]+$', '12345')"), true);
    assert.equal(q("regex_match('^a', 'ba')"), false);
    assert.equal(q("regex_match('(?i)^abc$', 'ABC')"), true);
    assert.equal(q("regex_match('^1\\.5$', `1.5`)"), true);
    fails("regex_match('(?=a)', 'a')"); // lookahead: Go rejects it
    fails("regex_match('[', 'a')");
  });
  it('regex_replace_all and regex_replace_all_literal', () => {
    assert.equal(q("regex_replace_all('(\\d+)', 'a1b22', '<$1>')"), 'a<1>b<22>');
    assert.equal(q("regex_replace_all('(?P<n>\\d+)', 'a1', '${n}!')"), 'a1!');
    assert.equal(q("regex_replace_all_literal('(\\d+)', 'a1b22', '<$1>')"), 'a<$1>b<$1>');
  });
  it('pattern_match (Kyverno wildcards)', () => {
    assert.equal(q("pattern_match('prefix-*', 'prefix-foo/bar')"), true);
    assert.equal(q("pattern_match('12?', `123`)"), true);
    assert.equal(q("pattern_match('a?', 'abc')"), false);
  });
  it('label_match', () => {
    assert.equal(q('label_match(`{"app": "x"}`, `{"app": "x", "tier": "y"}`)'), true);
    assert.equal(q('label_match(`{"app": "x"}`, `{"app": "z"}`)'), false);
  });
  it('add', () => {
    assert.equal(q('add(`12`, `13`)'), 25);
    assert.equal(q("add('12Ki', '13Ki')"), '25Ki');
    assert.equal(q("add('12Ki', '13')"), '12301');
    assert.equal(q("add('12s', '13s')"), '25s');
    fails("add('12', '13s')");
    fails("add(`12`, '13Ki')");
    fails("add('12s', `13`)");
    fails('add(`true`, `1`)');
  });
  it('sum', () => {
    assert.equal(q('sum([`12`, `13`, `1`, `4`])'), 30);
    assert.equal(q("sum(['12Ki', '13Ki', '1Ki', '4Ki'])"), '30Ki');
    assert.equal(q("sum(['12s', '13s'])"), '25s');
    fails("sum(['12s', `13`])");
  });
  it('sum of an empty array is an error', () => fails('sum(`[]`)'));
  it('subtract', () => {
    assert.equal(q('subtract(`12`, `13`)'), -1);
    assert.equal(q("subtract('12Ki', '13Ki')"), '-1Ki');
    assert.equal(q("subtract('12Ki', '13')"), '12275');
    assert.equal(q("subtract('12s', '13s')"), '-1s');
    fails("subtract('12Ki', '13s')");
  });
  it('multiply', () => {
    assert.equal(q("multiply('12Ki', `2`)"), '24Ki');
    assert.equal(q("multiply('12s', `2`)"), '24s');
    assert.equal(q('multiply(`2.5`, `2.5`)'), 6.25);
    assert.equal(q("multiply(`2.5`, '12Ki')"), '30Ki');
    assert.equal(q("multiply(`2.5`, '12')"), '30');
    assert.equal(q("multiply(`2.5`, '40s')"), '1m40s');
    fails("multiply('12Ki', '12Ki')");
    fails("multiply('12s', '12s')");
  });
  it('divide', () => {
    assert.equal(q("divide('256M', '256M')"), 1);
    assert.equal(q("divide('8', '3')"), 8 / 3);
    assert.equal(q("divide('128M', '256M')"), 0.5);
    assert.equal(q("divide('12Ki', `3`)"), '4Ki');
    assert.equal(q("divide('12Ki', '200')"), 61.44);
    assert.equal(q("divide('12s', `3`)"), '4s');
    assert.equal(q("divide('12s', '5s')"), 2.4);
    assert.equal(q('divide(`14`, `3`)'), 4.666666666666667);
    for (const e of [
      "divide('12Ki', '2s')",
      "divide('12s', '4Ki')",
      "divide(`14`, '5s')",
      'divide(`14`, `0`)',
      "divide('4Ki', `0`)",
      "divide('4', '0')",
      "divide('4s', '0s')",
    ])
      fails(e);
  });
  it('modulo', () => {
    assert.equal(q("modulo('12Ki', '5Ki')"), '2Ki');
    assert.equal(q("modulo('13s', '2s')"), '1s');
    assert.equal(q('modulo(`13`, `5`)'), 3);
    for (const e of ["modulo('12', '13s')", "modulo('12Ki', `13`)", 'modulo(`14`, `0`)', "modulo('4', '1.5')", 'modulo(`14.5`, `2`)']) fails(e);
  });
  it('round', () => {
    assert.equal(q('round(`3.14159`, `2`)'), 3.14);
    assert.equal(q('round(`-2.5`, `0`)'), -3); // Go rounds half away from zero
    fails('round(`1.5`, `1.5`)');
    fails('round(`1.5`, `-1`)');
  });
  it('base64_decode / base64_encode', () => {
    assert.equal(q("base64_decode('SGVsbG8sIHdvcmxkIQ==')"), 'Hello, world!');
    assert.equal(q("base64_encode('Hello, world!')"), 'SGVsbG8sIHdvcmxkIQ==');
    fails("base64_decode('SGVsbG8')"); // Go's StdEncoding requires padding
    fails("base64_decode('not base64!')");
  });
  it('sha256 / sha1 / md5', () => {
    assert.equal(q("sha256('hello')"), '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    assert.equal(q("sha1('hello')"), 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d');
    assert.equal(q("md5('hello')"), '5d41402abc4b2a76b9719d911017c592');
  });
  it('semver_compare (blang ranges)', () => {
    assert.equal(q("semver_compare('1.2.3', '1.2.3')"), true);
    assert.equal(q("semver_compare('1.2.3', '>1.0.0 <2.0.0')"), true);
    assert.equal(q("semver_compare('4.1.3', '>=4.1.x')"), true);
    assert.equal(q("semver_compare('2.0.0', '>=1.0.0 <2.0.0 || >3.0.0')"), false);
    assert.equal(q("semver_compare('garbage', '0.0.0')"), true); // an unparsable version is 0.0.0
    fails("semver_compare('1.2.3', '~1.2')");
  });
  it('parse_json', () => {
    assert.deepEqual(q(`parse_json('{"a": [1, "b"]}')`), { a: [1, 'b'] });
    fails("parse_json('{')");
  });
  it('parse_yaml', () => {
    assert.deepEqual(q("parse_yaml('a: 1\nb: [x]')"), { a: 1, b: ['x'] });
    fails("parse_yaml('a: [')");
  });
  it('lookup', () => {
    assert.equal(q('lookup(`{"a": 1}`, \'a\')'), 1);
    assert.equal(q('lookup(`{"a": 1}`, \'b\')'), null);
    assert.equal(q('lookup(`[1, 2]`, `1`)'), 2);
    assert.equal(q('lookup(`[1]`, `5`)'), null);
    fails('lookup(`[1]`, `0.5`)');
    fails("lookup(`[1]`, 'a')");
  });
  it('items (sorted keys, like Kyverno)', () => {
    assert.deepEqual(q('items(`{"b": 1, "a": 2}`, \'key\', \'val\')'), [
      { key: 'a', val: 2 },
      { key: 'b', val: 1 },
    ]);
    assert.deepEqual(q('items(`["x", "y"]`, \'i\', \'v\')'), [
      { i: 0, v: 'x' },
      { i: 1, v: 'y' },
    ]);
  });
  it('object_from_lists', () => {
    assert.deepEqual(q('object_from_lists(`["a", "b"]`, `[1]`)'), { a: 1, b: null });
  });
  it('time_since', () => {
    assert.equal(q("time_since('', '2021-01-02T15:04:05Z', '2021-01-02T16:05:06Z')"), '1h1m1s');
    assert.equal(q("time_since('2006-01-02', '2021-01-01', '2021-01-02')"), '24h0m0s');
    // "Since 90 s ago" is 90 s plus however long the machine took to get here: bracket it, do not time it.
    const before = Date.now();
    const recent = new Date(before - 90_000).toISOString();
    const since = String(q(`time_since('', '${recent}', '')`));
    const elapsed = (Date.now() - before) / 1000;
    const parts = /^(\d+)m(\d+(?:\.\d+)?)s$/.exec(since);
    assert.ok(parts, since);
    const seconds = Number(parts[1]) * 60 + Number(parts[2]);
    assert.ok(seconds >= 90 && seconds <= 90 + elapsed + 0.001, `${since} is 90 s plus at most the ${elapsed} s this test took`);
    fails("time_since('', 'yesterday', '')");
  });
  it('time_now and time_now_utc', () => {
    // Whole seconds, between the moment before the call and the moment after it.
    const within = (text: string, before: number, after: number) =>
      assert.ok(
        Date.parse(text) >= Math.floor(before / 1000) * 1000 && Date.parse(text) <= after,
        `${text} is between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`,
      );
    let before = Date.now();
    const utc = String(q('time_now_utc()'));
    within(utc, before, Date.now());
    assert.match(utc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    before = Date.now();
    const local = String(q('time_now()'));
    within(local, before, Date.now());
  });
  it('time_add', () => {
    assert.equal(q("time_add('2021-01-02T15:04:05Z', '3h')"), '2021-01-02T18:04:05Z');
    assert.equal(q("time_add('2021-01-02T15:04:05+02:00', '-30m')"), '2021-01-02T14:34:05+02:00');
    fails("time_add('2021-01-02T15:04:05Z', '1d')");
  });
  it('time_parse', () => {
    assert.equal(q("time_parse('Mon Jan 02 2006 15:04:05 -0700', 'Wed Jun 22 2022 17:45:00 +0100')"), '2022-06-22T17:45:00+01:00');
    assert.equal(q("time_parse('1136239445', '1136239445')"), '2006-01-02T22:04:05Z');
    assert.equal(q("time_parse('2006-01-02', '2023-04-05')"), '2023-04-05T00:00:00Z');
    fails("time_parse('2006-01-02', '2023-02-30')");
  });
  it('time_utc', () => assert.equal(q("time_utc('2021-01-02T18:04:05+05:00')"), '2021-01-02T13:04:05Z'));
  it('time_diff', () => {
    assert.equal(q("time_diff('2021-01-02T15:04:05Z', '2021-01-02T16:04:05Z')"), '1h0m0s');
    assert.equal(q("time_diff('2021-01-02T16:04:05Z', '2021-01-02T15:04:05.5Z')"), '-59m59.5s');
  });
  it('time_before / time_after / time_between', () => {
    assert.equal(q("time_before('2021-01-02T15:04:05Z', '2021-01-02T16:04:05Z')"), true);
    assert.equal(q("time_after('2021-01-02T15:04:05Z', '2021-01-02T16:04:05Z')"), false);
    assert.equal(q("time_after('2021-01-02T17:04:05+02:00', '2021-01-02T14:04:05Z')"), true);
    assert.equal(q("time_between('2021-01-02T17:04:05Z', '2021-01-01T15:04:05Z', '2021-01-03T15:04:05Z')"), true);
    assert.equal(q("time_between('2021-01-01T15:04:05Z', '2021-01-01T15:04:05Z', '2021-01-03T15:04:05Z')"), false);
  });
  it('time_truncate (from January 1 of year 1, like Go)', () => {
    assert.equal(q("time_truncate('2023-02-02T15:04:05Z', '1h')"), '2023-02-02T15:00:00Z');
    assert.equal(q("time_truncate('2023-02-02T15:04:05Z', '7h')"), '2023-02-02T12:00:00Z');
  });
  it('time_to_cron', () => assert.equal(q("time_to_cron('2023-02-02T15:04:05Z')"), '4 15 2 2 4'));
});
