// The verifier's layering, checked on its import statements (docs/architecture.md "The request
// pipeline"): dependencies point inward, HTTP → pipeline → stages → domain, so
// - nothing below the HTTP layer imports from http/ (only the composition roots that assemble a server do);
// - the folders under src/ have no import cycle between them;
// - no shipped file imports @kna/e2e (the test components): only tests and the test kit may.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Composition roots: they assemble the HTTP layer and everything under it. */
const ROOTS = new Set(['app.ts', 'main.ts', 'index.ts']);
/**
 * The test kit, the benchmarks and the differential suite against the original (`pnpm compat`): they start real
 * test components (@kna/e2e) for tests, `pnpm bench` and `pnpm compat`.
 * They are not part of the served verifier; moving them out of src/ is tracked in docs/architecture.md
 * "Test tiers".
 */
const TEST_KIT = ['bench/', 'compat/', 'testing/', 'registry/testing/'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every module specifier of `import … from`, `export … from`, `import '…'` and `import('…')` in a file. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s+'([^']+)'/g)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier !== undefined) specifiers.push(specifier);
  }
  return specifiers;
}

/** The folder of a file relative to src/ ('' for src/ itself), at the first level: the verifier's stages. */
function folderOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes(sep) ? (rel.split(sep)[0] ?? '') : '';
}

const files = sources(SRC).map((path) => ({ path, rel: relative(SRC, path).split(sep).join('/'), imports: importsOf(path) }));
const isTestKit = (rel: string) => TEST_KIT.some((prefix) => rel.startsWith(prefix));

describe('verifier architecture (docs/architecture.md)', () => {
  it('reads the imports of the source files', () => {
    // Guards the parser: a regex that matched nothing would make every rule below pass.
    const app = files.find((f) => f.rel === 'app.ts');
    assert.ok(app, 'app.ts is found');
    assert.ok(app.imports.includes('./http/server.js'), JSON.stringify(app.imports));
    assert.ok(files.length > 40, `${files.length} source files`);
  });

  it('nothing below the HTTP layer imports from http/', () => {
    const offenders = files
      .filter((f) => !f.rel.startsWith('http/') && !ROOTS.has(f.rel) && !isTestKit(f.rel))
      .flatMap((f) => f.imports.filter((s) => s.startsWith('.') && resolve(dirname(f.path), s).startsWith(join(SRC, 'http') + sep)).map((s) => `${f.rel} → ${s}`));
    assert.deepEqual(offenders, []);
  });

  it('the folders under src/ import each other without a cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of files) {
      if (isTestKit(f.rel)) continue;
      const from = folderOf(f.path);
      for (const s of f.imports) {
        if (!s.startsWith('.')) continue;
        const to = folderOf(resolve(dirname(f.path), s));
        if (from === '' || to === '' || to === from) continue;
        let set = edges.get(from);
        if (!set) edges.set(from, (set = new Set()));
        set.add(to);
      }
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const next of edges.get(node) ?? []) {
        const at = path.indexOf(next);
        if (at >= 0) cycles.push([...path.slice(at), next].join(' → '));
        else visit(next, [...path, next]);
      }
    };
    for (const start of edges.keys()) visit(start, [start]);
    assert.deepEqual([...new Set(cycles)], []);
  });

  it('no shipped file imports @kna/e2e', () => {
    const offenders = files.filter((f) => !isTestKit(f.rel) && f.imports.some((s) => s === '@kna/e2e' || s.startsWith('@kna/e2e/'))).map((f) => f.rel);
    assert.deepEqual(offenders, []);
  });
});
