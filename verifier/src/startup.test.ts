// What the verifier loads at start-up: every module it loads costs resident memory for the life of the
// process (docs/benchmarks.md "Production runtime"), so what only some configurations use is loaded only
// by them. The verifier command runs as a user would start it (main.ts, local mode, default flags
// otherwise), answers one request, and is stopped; a module hook records every file it loaded (ES modules
// through a load hook, CommonJS ones from require's cache at exit).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');

/** Preloaded with --import: records the URL of every file module loaded, to the file named in its first line. */
function hookSource(out: string): string {
  const loadHook = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(out)}, url + '\\n');
  return next(url, context);
}`;
  return `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(loadHook)}));
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(${JSON.stringify(out)}, Object.keys(require.cache).map((f) => pathToFileURL(f).href).join('\\n') + '\\n'));
`;
}

/** Starts the verifier command with `flags` added, asks it one question, stops it; the files it loaded. */
async function loadedModules(flags: readonly string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'startup-test-'));
  try {
    const out = join(dir, 'loaded.txt');
    const hook = join(dir, 'hook.mjs');
    writeFileSync(hook, hookSource(out));
    writeFileSync(out, '');
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        '--import',
        pathToFileURL(hook).href,
        join(import.meta.dirname, 'main.ts'),
        '--local',
        `--policyDir=${join(ROOT, 'examples/policies')}`,
        '--reviewKyvernoToken=false',
        '--httpPort=0',
        '--bindAddress=127.0.0.1',
        '--health-probe-bind-address=0',
        '--metrics-bind-address=0',
        // The helper engine (the default) is only started by a verification; it has to exist.
        '--notationHelperPath=/bin/true',
        ...flags,
      ],
      { env: { PATH: '/usr/bin:/bin', HOME: dir, NOTATION_LIBEXEC: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const url = await new Promise<string>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`the verifier did not listen within 120 s:\n${output}`)), 120_000);
        const look = () => {
          const line = output.split('\n').find((l) => l.includes('"verifier listening"'));
          if (line === undefined) return;
          clearTimeout(timer);
          child.stdout.off('data', look);
          done((JSON.parse(line) as { url: string }).url);
        };
        child.stdout.on('data', look);
        void exited.then((code) => fail(new Error(`the verifier exited (${code}) before listening:\n${output}`)));
      });
      const res = await fetch(`${url}/checkimages`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 400, await res.text());
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    }
    return [...new Set(readFileSync(out, 'utf8').split('\n'))].filter((u) => u !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the verifier must not load unless a flag asks for it. */
const NOT_AT_STARTUP: Readonly<Record<string, RegExp>> = {
  'the Redis client (ioredis), without --redisURL': /\/node_modules\/ioredis\//,
  'the Kubernetes client (@kubernetes/client-node)': /\/node_modules\/@kubernetes\/client-node\//,
  'the certificate-issuing PKI (@peculiar/x509)': /\/node_modules\/@peculiar\/x509\//,
  "the operator's PKI module": /\/shared\/(src|dist)\/pki\/certificates\./,
  "the operator's list-watch client and leader election": /\/shared\/(src|dist)\/kube\//,
  'CRD generation': /\/shared\/(src|dist)\/crd\/definitions\./,
};

function offenders(loaded: readonly string[]): string[] {
  return Object.entries(NOT_AT_STARTUP).flatMap(([what, pattern]) => loaded.filter((u) => pattern.test(u)).map((u) => `${what}: ${u}`));
}

describe('the verifier at start-up', () => {
  it('in local mode with default flags, loads none of what only other configurations or the operator use', async () => {
    const loaded = await loadedModules([]);
    // The record is complete enough to fail: the HTTP server, a CommonJS package, and the verifier's own modules are there.
    assert.ok(
      loaded.some((u) => /\/node_modules\/fastify\//.test(u)),
      loaded.join('\n'),
    );
    assert.ok(loaded.some((u) => u.endsWith('/verifier/src/app.ts')));
    assert.deepEqual(offenders(loaded), []);
  });

  it('with --redisURL, loads the Redis client (the same record sees it when it is used)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'startup-test-key-'));
    try {
      writeFileSync(join(dir, 'hmac'), 'k'.repeat(32));
      // Nothing needs to listen there: the shared tier connects in the background and readiness never waits for it.
      const loaded = await loadedModules(['--redisURL=redis://127.0.0.1:1', `--cacheHMACKeyFile=${join(dir, 'hmac')}`]);
      assert.ok(
        loaded.some((u) => /\/node_modules\/ioredis\//.test(u)),
        loaded.join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
