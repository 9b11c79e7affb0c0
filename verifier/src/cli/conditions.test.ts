import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConditionsCommand } from './conditions.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kna-conditions-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runConditionsCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

const payload = JSON.stringify({
  builder: { id: 'https://github.com/actions/runner' },
  metadata: { scanFinishedOn: new Date(Date.now() - 60_000).toISOString() },
  Results: [{ Vulnerabilities: [{ Severity: 'LOW' }] }],
});

describe('verifier conditions', () => {
  it('exits 0 and prints PASS when the conditions hold (YAML list of blocks)', async () => {
    const conditions = await file(
      'pass.yaml',
      `- all:
    - key: "{{ builder.id }}"
      operator: Equals
      value: "https://github.com/*"
      message: trusted builder
    - key: "{{ time_since('', '{{ metadata.scanFinishedOn }}', '') }}"
      operator: LessThanOrEquals
      value: 168h
      message: fresh scan
`,
    );
    const result = await run(['--payload', await file('p.json', payload), '--conditions', conditions]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'PASS: the conditions hold\n', 'the messages of conditions that held are not printed');
  });

  it('exits 1 and prints the failed messages when they do not hold (JSON block)', async () => {
    const conditions = await file(
      'fail.json',
      JSON.stringify({
        any: [
          { key: "{{ length(Results[].Vulnerabilities[?Severity == 'CRITICAL'][]) }}", operator: 'GreaterThan', value: 0, message: 'has criticals' },
          { key: '{{ builder.id }}', operator: 'equals', value: 'nope', message: 'unknown builder' },
        ],
      }),
    );
    const result = await run(['--payload', await file('p.json', payload), `--conditions=${conditions}`]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^FAIL/);
    assert.match(result.stdout, /message: has criticals; unknown builder/);
  });

  it('accepts an attestation type entry {name, conditions}', async () => {
    const conditions = await file(
      'type.yaml',
      `name: sbom/cyclone-dx
conditions:
  - all:
      - key: "{{ builder.id }}"
        operator: NotEquals
        value: ""
`,
    );
    const result = await run(['--payload', await file('p.json', payload), '--conditions', conditions]);
    assert.equal(result.code, 0, result.stderr);
  });

  const failsWith = async (argv: string[], pattern: RegExp) => {
    const result = await run(argv);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, pattern);
    assert.equal(result.stdout, '');
  };

  it('exits 2 on an unknown path, naming the key', async () => {
    const conditions = await file('unknown.yaml', 'all:\n  - key: "{{ predicate.builder.id }}"\n    operator: Equals\n    value: x\n');
    await failsWith(['--payload', await file('p.json', payload), '--conditions', conditions], /Unknown key "predicate" in path/);
  });

  it('exits 2 on an unknown operator', async () => {
    const conditions = await file('op.yaml', 'all:\n  - key: a\n    operator: Contains\n    value: a\n');
    await failsWith(['--payload', await file('p.json', payload), '--conditions', conditions], /bad-request.*unknown condition operator "Contains"/);
  });

  it('exits 2 on bad YAML, bad JSON, a non-object payload and unreadable files', async () => {
    const good = await file('good.yaml', 'all: []\n');
    const p = await file('p.json', payload);
    await failsWith(['--payload', p, '--conditions', await file('bad.yaml', 'all: [\n')], /not valid YAML\/JSON/);
    await failsWith(['--payload', await file('bad.json', '{'), '--conditions', good], /not valid JSON/);
    await failsWith(['--payload', await file('array.json', '[1]'), '--conditions', good], /must hold a JSON object/);
    await failsWith(['--payload', join(dir, 'missing.json'), '--conditions', good], /cannot read the payload file .*ENOENT/);
    await failsWith(['--payload', p, '--conditions', await file('empty.yaml', '')], /is empty/);
    await failsWith(['--payload', p, '--conditions', await file('two.yaml', 'all: []\n---\nany: []\n')], /one YAML\/JSON document/);
  });

  it('exits 2 on missing or unknown flags, and prints help with --help', async () => {
    await failsWith(['--payload', 'x'], /both --payload and --conditions are required/);
    await failsWith(['--payload', 'x', '--conditions', 'y', '--nope'], /Unknown option '--nope'/);
    await failsWith(['stray'], /Unexpected argument 'stray'/);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: verifier conditions/);
  });
});
