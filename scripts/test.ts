// The whole test suite (`pnpm test`): type check, lint, format check, then every *.test.ts of the workspace under
// node:test with coverage, against the real components that `pnpm tools` builds.
//
//   pnpm test                          everything CI runs (npm test on a fresh clone)
//   pnpm test:unit                     only the pure tests (files not named *.int.test.ts), no tools needed
//   pnpm test:all --only PATTERN       the test files whose path contains PATTERN (after the checks);
//                                      repeat --only for more patterns
//   pnpm test:all --skip-checks        no type check / lint / format check
// `pnpm test:all -- --only X` and `npm test -- --only X` work too (pnpm hands the `--` through).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const PACKAGES = ['shared', 'verifier', 'operator', 'e2e'];

const USAGE = 'usage: pnpm test:all [--tier all|unit] [--only PATTERN]... [--skip-checks] [--concurrency N]';

function parseCommandLine() {
  // `pnpm run test:all -- --only X` passes the separator on; it separates nothing here.
  const args = process.argv.slice(2).filter((a) => a !== '--');
  try {
    const { values } = parseArgs({
      args,
      options: {
        tier: { type: 'string', default: 'all' },
        only: { type: 'string', multiple: true },
        'skip-checks': { type: 'boolean', default: false },
        concurrency: { type: 'string', default: process.env.KNA_TEST_CONCURRENCY ?? '3' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (values.tier !== 'all' && values.tier !== 'unit') throw new Error(`--tier must be all or unit, not ${JSON.stringify(values.tier)}`);
    if (!/^[1-9]\d*$/.test(values.concurrency)) throw new Error(`--concurrency must be a positive integer, not ${JSON.stringify(values.concurrency)}`);
    return values;
  } catch (err) {
    console.error(`test: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseCommandLine();

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

function step(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const started = Date.now();
  console.log(`\n▶ ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`✗ ${title} failed (${result.status ?? result.signal ?? '?'})`);
    process.exit(result.status ?? 1);
  }
  console.log(`✓ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

// Each package's tests live beside its sources (src/); the verifier's tooling (testkit/, bench/, compat/) has
// its own, so the whole package directory is searched.
let files = PACKAGES.flatMap((p) => findTests(join(root, p))).sort();
if (values.tier === 'unit') files = files.filter((f) => !f.endsWith('.int.test.ts'));
if (values.only?.length) files = files.filter((f) => values.only?.some((pattern) => f.includes(pattern)));
if (files.length === 0) {
  console.error(
    `no test files selected${values.only?.length ? ` (no test file's path contains ${values.only.map((o) => JSON.stringify(o)).join(' or ')})` : ''}`,
  );
  process.exit(1);
}

const env: NodeJS.ProcessEnv = { ...process.env };
if (values.tier !== 'unit') {
  step('pnpm tools (real test components, cached by version)', 'bash', ['e2e/tools/tools.sh', 'build']);
  // Put the components on PATH for the tests (what `eval "$(pnpm -s tools:env)"` does in a shell).
  const exported = execFileSync('bash', ['-c', 'eval "$(bash e2e/tools/tools.sh env)" && env -0'], { cwd: root, encoding: 'utf8' });
  for (const pair of exported.split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
}
// The notation helper's own Go tests (its token cache); Go is there, `pnpm tools` built the helper with it.
if (values.tier !== 'unit' && !values.only?.length) {
  step('notation helper Go tests (go vet, go test)', 'bash', ['-c', 'cd verifier/notation-helper && go vet ./... && go test ./...']);
}
if (!values['skip-checks']) {
  step('type check (tsc -b)', 'pnpm', ['exec', 'tsc', '-b']);
  step('lint (eslint)', 'pnpm', ['exec', 'eslint', '.', '--max-warnings=0']);
  step('format check (prettier; `pnpm format` rewrites)', 'pnpm', ['exec', 'prettier', '--check', '.']);
}

console.log(`\n▶ ${files.length} test files (concurrency ${values.concurrency})`);
const c8 = [
  'exec',
  'c8',
  '--reporter=text-summary',
  '--reporter=lcov',
  '--report-dir=coverage',
  '--all',
  '--extension=.ts',
  ...PACKAGES.map((p) => `--include=${p}/src/**/*.ts`),
  '--exclude=**/*.test.ts',
  '--exclude=**/testing/**',
];
step(
  'tests',
  'pnpm',
  [
    ...c8,
    process.execPath,
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${values.concurrency}`,
    '--test-timeout=1800000',
    ...files.map((f) => relative(root, f)),
  ],
  env,
);
