// The verifier's layering, checked on its import statements (docs/architecture.md "The request
// pipeline"): dependencies point inward, HTTP → pipeline → stages → domain, so
// - nothing below the HTTP layer imports from http/ (only the composition roots that assemble a server do);
// - the folders under src/ have no import cycle between them;
// - no shipped file imports @kna/e2e (the test components) or the verifier's tooling (testkit/, bench/,
//   compat/ beside src/): only tests may, and the package's runtime dependencies name neither.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Composition roots: they assemble the HTTP layer and everything under it. */
const ROOTS = new Set(['app.ts', 'main.ts', 'index.ts']);
/**
 * The verifier's tooling, beside src/ in the package: the test kit, the benchmarks (`pnpm bench`) and the
 * differential suite against the original (`pnpm compat`). They start real test components (@kna/e2e) and
 * are not part of the served verifier (docs/architecture.md "Test tiers").
 */
const PACKAGE = join(SRC, '..');
const TOOLING = ['testkit', 'bench', 'compat'].map((dir) => join(PACKAGE, dir) + sep);
/** Test components and load generators: tests and the tooling use them, the served verifier never does. */
const TEST_ONLY_PACKAGES = ['@kna/e2e', 'autocannon', '@types/autocannon'];

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
      .filter((f) => !f.rel.startsWith('http/') && !ROOTS.has(f.rel))
      .flatMap((f) =>
        f.imports.filter((s) => s.startsWith('.') && resolve(dirname(f.path), s).startsWith(join(SRC, 'http') + sep)).map((s) => `${f.rel} → ${s}`),
      );
    assert.deepEqual(offenders, []);
  });

  it('the folders under src/ import each other without a cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of files) {
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

  it('no shipped file imports @kna/e2e or the tooling beside src/', () => {
    const offenders = files.flatMap((f) =>
      f.imports
        .filter((s) =>
          s.startsWith('.')
            ? TOOLING.some((dir) => resolve(dirname(f.path), s).startsWith(dir))
            : TEST_ONLY_PACKAGES.some((p) => s === p || s.startsWith(`${p}/`)),
        )
        .map((s) => `${f.rel} → ${s}`),
    );
    assert.deepEqual(offenders, []);
  });

  it('the package needs the test components and load generators only for development', () => {
    const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    assert.ok(manifest.dependencies?.fastify, 'package.json is read: fastify is a runtime dependency');
    assert.deepEqual(
      TEST_ONLY_PACKAGES.filter((p) => p in (manifest.dependencies ?? {})),
      [],
    );
  });
});
