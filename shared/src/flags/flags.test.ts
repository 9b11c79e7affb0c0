import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERR_BAD_FLAG, flagHelpLines, flagsMarkdown, parseBindAddress, parseFlagArgs, withGeneratedSection, type FlagSpec } from './flags.js';

const SPECS = {
  name: { type: 'string', default: 'x', help: 'A name.' },
  on: { type: 'bool', default: true, help: 'A switch.' },
  count: { type: 'int', default: 3, help: 'A count.' },
  items: { type: 'list', default: ['a'], help: 'Items | piped.' },
  wait: { type: 'duration', default: 15_000, help: 'A wait.' },
  namespace: { type: 'string', default: '', defaultText: 'POD_NAMESPACE', help: 'Where.' },
} as const satisfies Record<string, FlagSpec>;

describe('parseFlagArgs', () => {
  it('takes Go flag syntax and Go durations (in milliseconds)', () => {
    const { flags, explicit, positionals } = parseFlagArgs(SPECS, ['-name=y', '--count', '7', '--on=false', '--items=b,c', '--wait=1m30s', 'pos']);
    assert.deepEqual(flags, { name: 'y', on: false, count: 7, items: ['b', 'c'], wait: 90_000, namespace: '' });
    assert.deepEqual(positionals, ['pos']);
    assert.ok(explicit.has('wait') && !explicit.has('namespace'));
    assert.equal(parseFlagArgs(SPECS, ['--wait=250ms']).flags.wait, 250);
  });

  it('does not share the default list between parses', () => {
    parseFlagArgs(SPECS, []).flags.items.push('z');
    assert.deepEqual(parseFlagArgs(SPECS, []).flags.items, ['a']);
  });

  it('names the flag in every refusal, with a catalogued error unless the caller brings its own', () => {
    assert.throws(
      () => parseFlagArgs(SPECS, ['--wait=15']),
      (err: unknown) => err instanceof ERR_BAD_FLAG && /--wait: "15" is not a duration/.test(err.message),
    );
    assert.throws(() => parseFlagArgs(SPECS, ['--wait=-1s']), /not a duration/);
    assert.throws(() => parseFlagArgs(SPECS, ['--nope']), /unknown flag --nope/);
    assert.throws(() => parseFlagArgs(SPECS, ['--count']), /--count needs a value/);
    assert.throws(() => parseFlagArgs(SPECS, ['--on=maybe'], { badFlag: (d) => new RangeError(d) }), RangeError);
    assert.throws(() => parseFlagArgs(SPECS, ['--constructor=1']), /unknown flag/);
  });

  it('generates --help and the README table from the same table', () => {
    const help = flagHelpLines(SPECS).join('\n');
    assert.match(help, /--wait duration\n {6}A wait\. \(default 15s\)/);
    assert.match(help, /\(default POD_NAMESPACE\)/);
    const table = flagsMarkdown(SPECS);
    assert.match(table, /\| `--items` \| list \| `a` \| Items \\\| piped\. \|/);
    assert.match(table, /\| `--namespace` \| string \| POD_NAMESPACE \|/);
  });

  it('replaces exactly the marked section', () => {
    const text = 'a\n<!-- t:begin -->\nold\n<!-- t:end -->\nb';
    assert.equal(withGeneratedSection(text, 't', 'new'), 'a\n<!-- t:begin -->\nnew\n<!-- t:end -->\nb');
    assert.throws(() => withGeneratedSection('a', 't', 'x'), /no <!-- t:begin -->/);
  });
});

describe('parseBindAddress', () => {
  it('takes host:port, :port and 0', () => {
    assert.deepEqual(parseBindAddress('m', ':8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseBindAddress('m', '127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.equal(parseBindAddress('m', '0'), undefined);
    assert.throws(() => parseBindAddress('metrics-bind-address', '8080'), /--metrics-bind-address: "8080" is not host:port/);
  });
});
