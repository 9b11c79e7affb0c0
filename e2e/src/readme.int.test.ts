// The README's commands, run as a new user runs them: in a fresh clone of the repository (the commit
// checked out here), in order, each exactly as the README writes it. The commands are the README's
// fenced blocks tagged `<!-- readme-test: NAME -->`, so a change to one of them is tested as written;
// every block this test knows must be in the README, and every tagged block must be one it knows.
// `npm test` itself is the one README command left out: it is the suite this test is part of.
//
// The clone shares the tool cache (`pnpm tools` output) with this checkout, so nothing is rebuilt.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopGroup } from './harness/processes.js';
import { REPO_ROOT } from './harness/tools-env.js';

/** Every tagged block, in the order a reader meets them. */
const EXPECTED = ['demo', 'env', 'conditions', 'verifier', 'verifier-question', 'harness', 'kube'] as const;
type BlockName = (typeof EXPECTED)[number];

/** Bounds for one command on a loaded 2-core machine: generous, never what a test asserts. */
const COMMAND_TIMEOUT_MS = 15 * 60_000;
const READY_TIMEOUT_MS = 3 * 60_000;
/** Each step's own bound (the runner's default of 5 minutes is too short for a cold pnpm install under load). */
const STEP = { timeout: COMMAND_TIMEOUT_MS + 5 * 60_000 };
/** The ports the README's verifier command listens on (its defaults: requests, probes, metrics). */
const VERIFIER_PORTS = [9080, 8081, 8080];

function readmeBlocks(readme: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of readme.matchAll(/<!-- readme-test: ([\w-]+) -->\n```sh\n([\s\S]*?)```/g)) {
    const [, name = '', body = ''] = match;
    assert.ok(!blocks.has(name), `README.md tags two blocks "${name}"`);
    blocks.set(name, body);
  }
  return blocks;
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

const tail = (text: string) => (text.length > 6000 ? `…${text.slice(-6000)}` : text);

/**
 * Cleans up after a block that failed half-way: a harness or a control plane it started is stopped
 * (the README's own `down` lines do it when everything passes).
 */
const CLEANUP = `trap 'rc=$?; if [ -n "\${HARNESS_DIR:-}" ] && [ -d "$HARNESS_DIR" ]; then pnpm -s harness down >/dev/null 2>&1 || true; fi; if [ -n "\${KNA_KUBE_DIR:-}" ] && [ -d "$KNA_KUBE_DIR" ]; then pnpm -s harness kube down >/dev/null 2>&1 || true; fi; exit $rc' EXIT\n`;

/** Runs a README block with bash (-e, pipefail) in the clone, in its own process group. */
function runBlock(block: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', CLEANUP + block], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[readme test: still running after ${timeoutMs / 1000} s; stopped]`;
      if (child.pid !== undefined) void stopGroup(child.pid);
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The user's environment: this process's, minus what the package manager and coverage put there. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|PNPM_|pnpm_)/.test(key) || ['INIT_CWD', 'NODE_V8_COVERAGE', 'NODE_OPTIONS', 'KNA_KUBE_DIR', 'HARNESS_DIR'].includes(key)) continue;
    env[key] = value;
  }
  // Not on PATH before the README puts it there: pnpm, the workspace's binaries, the test components.
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules') && !dir.includes('kyverno-notation-aws'))
    .join(delimiter);
  return env;
}

/** The environment a block leaves behind (for `eval "$(bin/kna env)"`). */
async function environmentAfter(block: string, cwd: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const run = await runBlock(`${block}\nprintf '\\n@@ENV@@\\n'; env -0`, cwd, env);
  assert.equal(run.code, 0, `the README's "env" block failed:\n${tail(run.output)}`);
  const dump = run.output.slice(run.output.lastIndexOf('\n@@ENV@@\n') + '\n@@ENV@@\n'.length);
  const after: NodeJS.ProcessEnv = {};
  for (const pair of dump.split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) after[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return after;
}

describe('the README, followed on a fresh clone', { timeout: 60 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kna-readme-'));
  const clone = join(dir, 'repo');
  let blocks = new Map<string, string>();
  let shell: NodeJS.ProcessEnv = userEnv();
  const block = (name: BlockName): string => {
    const text = blocks.get(name);
    assert.ok(text !== undefined, `README.md has no block tagged <!-- readme-test: ${name} -->`);
    return text;
  };

  before(() => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', REPO_ROOT, clone], { stdio: 'pipe' });
    execFileSync('git', ['checkout', '--quiet', head], { cwd: clone, stdio: 'pipe' });
    blocks = readmeBlocks(readFileSync(join(clone, 'README.md'), 'utf8'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tags exactly the blocks this test runs', () => {
    assert.deepEqual([...blocks.keys()], [...EXPECTED]);
  });

  it('quick start: npm run demo shows both answers and passes its own checks', STEP, async () => {
    const run = await runBlock(block('demo'), clone, shell);
    assert.equal(run.code, 0, tail(run.output));
    assert.match(run.output, /Demo finished: both answers are the expected ones/);
    assert.match(run.output, /HTTP 200\n\{"verified":true/);
    assert.match(run.output, /HTTP 406\n.*no notation signature found/);
    assert.match(run.output, /kna-demo-policies-\w+\/demo\.yaml \(removed after the demo; --keep keeps it\)/);
  });

  it('one step puts pnpm and the test components on PATH', STEP, async () => {
    shell = await environmentAfter(block('env'), clone, shell);
    for (const tool of ['pnpm', 'notation', 'olareg']) {
      assert.doesNotThrow(() => execFileSync('bash', ['-c', `command -v ${tool}`], { env: shell, stdio: 'pipe' }), `${tool} is on PATH after the env block`);
    }
    assert.ok(shell.NOTATION_LIBEXEC, 'NOTATION_LIBEXEC is set');
  });

  it('the conditions tester passes the example SBOM, also from a subdirectory with paths relative to it', STEP, async () => {
    const run = await runBlock(block('conditions'), clone, shell);
    assert.equal(run.code, 0, tail(run.output));
    assert.match(run.output, /^PASS: the conditions hold$/m);
    assert.doesNotMatch(run.output, /message:/, 'no messages on PASS');
    const nested = await runBlock(
      'pnpm -s verifier conditions --payload sbom.json --conditions sbom-conditions.yaml',
      join(clone, 'examples/attestations'),
      shell,
    );
    assert.equal(nested.code, 0, tail(nested.output));
    assert.match(nested.output, /^PASS: the conditions hold$/m);
  });

  it('the verifier serves examples/ in local mode and answers the README question', STEP, async () => {
    // The README's command uses the default ports; wait (bounded) for another run of this test to let go of them.
    const freeBy = Date.now() + READY_TIMEOUT_MS;
    for (const port of VERIFIER_PORTS) {
      while (!(await portFree(port))) {
        assert.ok(Date.now() < freeBy, `port ${port}, which the README's verifier command uses, stayed busy for ${READY_TIMEOUT_MS / 1000} s`);
        await sleep(1000);
      }
    }
    let output = '';
    const verifier: ChildProcess = spawn('bash', ['-e', '-c', block('verifier')], {
      cwd: clone,
      env: shell,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    verifier.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    verifier.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const readyBy = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        const ready = await fetch('http://127.0.0.1:8081/readyz').then(
          (r) => r.ok,
          () => false,
        );
        if (ready) break;
        assert.equal(verifier.exitCode, null, `the verifier exited:\n${tail(output)}`);
        assert.ok(Date.now() < readyBy, `the verifier was not ready after ${READY_TIMEOUT_MS / 1000} s:\n${tail(output)}`);
        await sleep(500);
      }
      const question = await runBlock(block('verifier-question'), clone, shell);
      assert.equal(question.code, 0, tail(question.output));
      assert.match(question.output, /^HTTP\/1\.1 503 /m);
      assert.match(question.output, /^retry-after: 5\r?$/im);
      assert.match(
        question.output,
        /container "app" image 127\.0\.0\.1:1\/demo\/app:v1: could not be verified: could not resolve the image to a digest: .*connection refused/,
      );
      // What the README says the log shows.
      const loggedBy = Date.now() + READY_TIMEOUT_MS;
      while (!(output.includes('"msg":"verifier listening"') && output.includes('"trustPolicies":["aws-signer-tp"]'))) {
        assert.ok(Date.now() < loggedBy, `the log does not show what the README says:\n${tail(output)}`);
        await sleep(200);
      }
    } finally {
      // Ctrl-C in a terminal signals the whole process group; so does this.
      if (verifier.pid !== undefined) await stopGroup(verifier.pid, 10_000);
    }
  });

  it('the signing harness: up, push, sign, attach, revoke, down', STEP, async () => {
    const run = await runBlock(block('harness'), clone, shell);
    assert.equal(run.code, 0, tail(run.output));
    assert.match(run.output, /sha256:[0-9a-f]{64}/, 'push prints the digest');
    assert.match(run.output, /arn:aws:signer:\S+:\/signing-jobs\/\S+/, 'sign prints the signing job ARN');
  });

  it('the throwaway Kubernetes API server: kube up, kubectl, kube down', STEP, async () => {
    const run = await runBlock(block('kube'), clone, shell);
    assert.equal(run.code, 0, tail(run.output));
    assert.match(run.output, /"gitVersion": "v1\.\d+\.\d+/);
  });
});
