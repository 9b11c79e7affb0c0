// The package's subpath exports (package.json "exports"): each names one concept, and the ones the operator
// needs to render a bundle (crd, trust-policy, bundle, manifests and what they use) load without the
// conditions engine and its JMESPath function pack, which registers functions globally when imported.
// The verifier imports only subpaths: the root also loads the certificate-issuing PKI (@peculiar/x509),
// CRD generation, leader election and the list-watch client, which only the operator uses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SHARED = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const exportsMap = (JSON.parse(readFileSync(join(SHARED, 'package.json'), 'utf8')) as { exports: Record<string, { source: string }> }).exports;

/** Every module a file loads, transitively, within this package (relative imports only). */
function closure(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const text = readFileSync(entry, 'utf8');
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'|(?:^|\n)\s*import\s+'(\.[^']+)'/g)) {
    const specifier = match[1] ?? match[2];
    if (specifier === undefined) continue;
    closure(resolve(dirname(entry), specifier.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

describe('@kna/shared subpath exports', () => {
  it('every subpath points at a source file that exists, and the root still exports everything', async () => {
    for (const [subpath, target] of Object.entries(exportsMap)) assert.ok(readFileSync(join(SHARED, target.source)), subpath);
    const root = await import('@kna/shared');
    const bundle = await import('@kna/shared/bundle');
    assert.equal(root.renderBundle, bundle.renderBundle);
  });

  for (const subpath of [
    './errors',
    './canonical',
    './image',
    './crd',
    './trust-policy',
    './bundle',
    './manifests',
    './wildcard',
    './units',
    './flags',
    './private-key',
  ]) {
    it(`${subpath} loads without the conditions engine or JMESPath`, () => {
      const target = exportsMap[subpath];
      assert.ok(target, `${subpath} is exported`);
      const loaded = [...closure(join(SHARED, target.source))].map((f) => f.slice(SHARED.length + 1));
      assert.ok(loaded.length > 0);
      assert.deepEqual(
        loaded.filter((f) => f.startsWith('src/conditions/') || f.startsWith('src/jmespath/')),
        [],
      );
    });
  }

  it('./private-key loads one module, without the certificate-issuing part of pki', () => {
    const target = exportsMap['./private-key'];
    assert.ok(target, './private-key is exported');
    const loaded = [...closure(join(SHARED, target.source))].map((f) => f.slice(SHARED.length + 1));
    assert.deepEqual(loaded, ['src/pki/privateKey.ts']);
  });

  it('the conditions export does load them (the check above can fail)', () => {
    const target = exportsMap['./conditions'];
    assert.ok(target);
    const loaded = [...closure(join(SHARED, target.source))].map((f) => f.slice(SHARED.length + 1));
    assert.ok(
      loaded.some((f) => f.startsWith('src/jmespath/')),
      loaded.join(', '),
    );
  });
});
