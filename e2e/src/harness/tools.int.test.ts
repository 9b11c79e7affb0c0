// e2e/tools/tools.sh and the AWS Signer plugin: where its source comes from, that a changed source is
// rebuilt under a new cache key, that the built binary is AWS's release as it reports itself, and that
// without a source the build fails saying where to get one (there is no substitute plugin).
// Every run uses a throwaway cache and GOPROXY=off (network only on loopback): the module proxy attempt
// fails at once, as on machines whose proxy refuses the module.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './tools-env.js';

const TOOLS_SH = join(REPO_ROOT, 'e2e/tools/tools.sh');
let scratch: string;
let source: string;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function tools(script: string, args: readonly string[], env: Record<string, string>): Run {
  const r = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, GOPROXY: 'off', KNA_AWS_SIGNER_PLUGIN_SRC: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The plugin source tools.sh finds for this repository (empty when there is none). */
function pluginSource(): string {
  const r = spawnSync('bash', ['-c', 'source "$0" --functions-only; aws_signer_plugin_src || true', TOOLS_SH], {
    encoding: 'utf8',
    env: { ...process.env, GOPROXY: 'off' },
  });
  return r.stdout.trim();
}

const FOUND = pluginSource();
const GOMODCACHE = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
// Where the module proxy served the plugin, its module cache copy comes first and the fallbacks these
// tests exercise are never reached.
const SKIP =
  FOUND.startsWith(`${GOMODCACHE}/`) &&
  'the module proxy served github.com/aws/aws-signer-notation-plugin here, so tools.sh never falls back to another source';
if (SKIP) console.log(`skipped: ${SKIP}`);

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kna-tools-'));
  if (SKIP) return;
  assert.ok(FOUND !== '', `tools.sh found no AWS Signer plugin source (set KNA_AWS_SIGNER_PLUGIN_SRC); these tests need one`);
  // A private, writable copy, so the tests can change it (the kept source is read-only).
  source = join(scratch, 'plugin-src');
  cpSync(FOUND, source, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', source]);
});
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('tools.sh: the AWS Signer plugin', { skip: SKIP }, () => {
  it('builds AWS release 1.0.350 from a source tree, reports the binary and its version, and tools:env points at it', () => {
    const cache = join(scratch, 'cache');
    const built = tools(TOOLS_SH, ['build', 'aws-signer-plugin'], { KNA_TOOLS_DIR: cache, KNA_AWS_SIGNER_PLUGIN_SRC: source });
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /the module proxy \(off\) does not serve github\.com\/aws\/aws-signer-notation-plugin@v1\.0\.350/);
    assert.match(built.stderr, /✓ aws-signer-plugin v1\.0\.350 built in/);
    const bin = /AWS Signer plugin: (\S+)/.exec(built.stderr)?.[1] ?? '';
    assert.match(
      bin,
      /\/aws-signer-plugin-v1\.0\.350-src-[0-9a-f]{12}\/libexec\/plugins\/com\.amazonaws\.signer\.notation\.plugin\/notation-com\.amazonaws\.signer\.notation\.plugin$/,
    );
    assert.ok(bin.startsWith(cache), bin);
    assert.match(built.stderr, new RegExp(`get-plugin-metadata: com\\.amazonaws\\.signer\\.notation\\.plugin version 1\\.0\\.350 \\(source: ${source}\\)`));

    const env = tools(TOOLS_SH, ['env'], { KNA_TOOLS_DIR: cache, KNA_AWS_SIGNER_PLUGIN_SRC: source });
    assert.equal(env.code, 0, env.stderr);
    assert.ok(env.stdout.includes(`# AWS Signer plugin: ${bin} (get-plugin-metadata: com.amazonaws.signer.notation.plugin version 1.0.350)`), env.stdout);
    assert.ok(env.stdout.includes(`export NOTATION_LIBEXEC=${bin.slice(0, bin.indexOf('/libexec/') + '/libexec'.length)}\n`), env.stdout);

    const again = tools(TOOLS_SH, ['build', 'aws-signer-plugin'], { KNA_TOOLS_DIR: cache, KNA_AWS_SIGNER_PLUGIN_SRC: source });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /✓ aws-signer-plugin v1\.0\.350 \(cached\)/);

    // A changed source tree is a different cache entry.
    const before = /src-([0-9a-f]{12})/.exec(bin)?.[1];
    appendFileSync(join(source, 'cmd', 'main.go'), '\n// changed by tools.int.test.ts\n');
    const changed = tools(TOOLS_SH, ['env'], { KNA_TOOLS_DIR: cache, KNA_AWS_SIGNER_PLUGIN_SRC: source });
    const after = /src-([0-9a-f]{12})/.exec(changed.stdout)?.[1];
    assert.ok(before && after && before !== after, `${String(before)} → ${String(after)}`);
    assert.match(changed.stderr, /tools: aws-signer-plugin is not built yet; run 'pnpm tools'/);
  });

  it('refuses a source tree of another release, and a folder that is no plugin source', () => {
    const other = join(scratch, 'other-release');
    cpSync(source, other, { recursive: true });
    writeFileSync(join(other, 'internal', 'version', 'version.go'), 'package version\n\nvar version = "1.0.298"\n');
    const cache = join(scratch, 'cache-other');
    const wrong = tools(TOOLS_SH, ['build', 'aws-signer-plugin'], { KNA_TOOLS_DIR: cache, KNA_AWS_SIGNER_PLUGIN_SRC: other });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /holds plugin version '1\.0\.298', not 1\.0\.350: get tag v1\.0\.350 of https:\/\/github\.com\/aws\/aws-signer-notation-plugin/);
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    const none = tools(TOOLS_SH, ['build', 'aws-signer-plugin'], { KNA_TOOLS_DIR: cache, KNA_AWS_SIGNER_PLUGIN_SRC: empty });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /is not a source tree of github\.com\/aws\/aws-signer-notation-plugin .*check KNA_AWS_SIGNER_PLUGIN_SRC/);
  });

  it('without any source (a clone with nothing beside it) fails saying where to get v1.0.350 and what to set', () => {
    // tools.sh in a repository layout of its own, with no shared/third_party folder beside it.
    const clone = join(scratch, 'parent', 'clone');
    mkdirSync(join(clone, 'e2e', 'tools'), { recursive: true });
    cpSync(TOOLS_SH, join(clone, 'e2e', 'tools', 'tools.sh'));
    const r = tools(join(clone, 'e2e', 'tools', 'tools.sh'), ['build', 'aws-signer-plugin'], { KNA_TOOLS_DIR: join(scratch, 'cache-none') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the AWS Signer notation plugin v1\.0\.350 has no source/);
    assert.match(r.stderr, /KNA_AWS_SIGNER_PLUGIN_SRC is not set/);
    assert.ok(r.stderr.includes(`${join(scratch, 'parent')}/shared/third_party/aws-signer-notation-plugin does not exist`), r.stderr);
    assert.match(r.stderr, /https:\/\/github\.com\/aws\/aws-signer-notation-plugin \(tag v1\.0\.350\)/);
    assert.match(r.stderr, /KNA_AWS_SIGNER_PLUGIN_SRC=<dir> pnpm tools/);
    assert.doesNotMatch(r.stderr, /✓ aws-signer-plugin/);
  });
});

describe('tools.sh: the notation helper', () => {
  it("builds kna-notation-helper from the repository's source, cached by a hash of it, onto tools:env's PATH", () => {
    // tools.sh in a repository layout of its own, holding a copy of the helper's source that the test can change.
    const clone = join(scratch, 'helper-clone');
    mkdirSync(join(clone, 'e2e', 'tools'), { recursive: true });
    cpSync(TOOLS_SH, join(clone, 'e2e', 'tools', 'tools.sh'));
    cpSync(join(REPO_ROOT, 'verifier', 'notation-helper'), join(clone, 'verifier', 'notation-helper'), { recursive: true });
    const script = join(clone, 'e2e', 'tools', 'tools.sh');
    // The module cache already holds the helper's modules (`pnpm tools` built it): no proxy needed.
    const env = { KNA_TOOLS_DIR: join(scratch, 'cache-helper') };
    const built = tools(script, ['build', 'notation-helper'], env);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /✓ notation-helper source [0-9a-f]{12} \(verifier\/notation-helper\) built in/);
    const path = tools(script, ['env'], env).stdout;
    const first = /notation-helper-src-([0-9a-f]{12})\/bin/.exec(path)?.[1];
    assert.ok(first, path);
    assert.match(tools(script, ['build', 'notation-helper'], env).stderr, /✓ notation-helper .* \(cached\)/);

    appendFileSync(join(clone, 'verifier', 'notation-helper', 'main.go'), '\n// changed by tools.int.test.ts\n');
    const changed = tools(script, ['env'], env);
    assert.doesNotMatch(changed.stdout, new RegExp(`notation-helper-src-${first}`), 'an edited source is not the cached build');
    assert.match(changed.stderr, /tools: notation-helper is not built yet; run 'pnpm tools'/);
    const rebuilt = tools(script, ['build', 'notation-helper'], env);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(tools(script, ['env'], env).stdout, /notation-helper-src-[0-9a-f]{12}\/bin/);
  });
});
