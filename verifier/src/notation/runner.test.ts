// The runner against stand-in notation executables (shell scripts): what it passes and how it stops
// runs. Runs against the real notation are in the pipeline's integration tests.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotationRunner } from './runner.js';
import { VerifyOutcome } from './classify.js';

const dir = mkdtempSync(join(tmpdir(), 'runner-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Running (not gone, not a zombie waiting for PID 1 to reap it). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

const request = { reference: 'localhost:5000/app@sha256:' + 'a'.repeat(64), configDir: join(dir, 'cfg'), pluginConfig: { 'aws-region': 'us-east-1' } };

describe('NotationRunner', () => {
  it('passes arguments as an array, credentials only in the environment, and a minimal environment', async () => {
    const envFile = join(dir, 'env.txt');
    const argsFile = join(dir, 'args.txt');
    const notation = script('notation-env', `env > ${envFile}\nprintf '%s\\n' "$@" > ${argsFile}\necho "Successfully verified signature for $9"`);
    const runner = new NotationRunner({
      notationPath: notation,
      libexecDir: '/libexec',
      cacheDir: '/cache',
      env: { PATH: '/usr/bin:/bin', HOME: '/home/v', AWS_REGION: 'eu-west-1', SECRET_TOKEN: 'nope', HTTP_PROXY: 'http://proxy:1' },
    });
    const result = await runner.verify({ ...request, credentials: { username: 'u', password: 'p@ss word' } });
    assert.equal(result.outcome, VerifyOutcome.Verified);
    const env = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(env.NOTATION_USERNAME, 'u');
    assert.equal(env.NOTATION_PASSWORD, 'p@ss word');
    assert.equal(env.NOTATION_CONFIG, request.configDir);
    assert.equal(env.NOTATION_LIBEXEC, '/libexec');
    assert.equal(env.NOTATION_CACHE, '/cache');
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.equal(env.HTTP_PROXY, 'http://proxy:1');
    assert.equal(env.SECRET_TOKEN, undefined, 'unrelated variables are not passed');
    const args = readFileSync(argsFile, 'utf8').trim().split('\n');
    assert.deepEqual(args, ['verify', '-v', '--max-signatures', '30', '--plugin-config', 'aws-region=us-east-1', request.reference]);
    assert.ok(!args.some((a) => a.includes('p@ss')), 'the password never appears in argv');
  });

  it('kills a hung run and everything it started at the timeout', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const notation = script('notation-hang', `sleep 300 &\necho $! > ${pidFile}\nsleep 300`);
    // Long enough for the script to start its child on a loaded machine (the test needs its pid).
    const runner = new NotationRunner({ notationPath: notation, libexecDir: dir, cacheDir: dir, timeoutMs: 3_000, env: { PATH: process.env.PATH ?? '' } });
    const result = await runner.verify(request);
    assert.equal(result.outcome, VerifyOutcome.CouldNotVerify);
    assert.match(result.reason, /did not finish within 3000 ms/);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    const goneBy = Date.now() + 30_000;
    while (alive(grandchild) && Date.now() < goneBy) await sleep(20);
    assert.equal(alive(grandchild), false, 'the process notation started is gone too');
    assert.equal(runner.live.size, 0);
  });

  it('stops a run when the caller aborts', async () => {
    const notation = script('notation-slow', 'sleep 300');
    const runner = new NotationRunner({ notationPath: notation, libexecDir: dir, cacheDir: dir, env: { PATH: process.env.PATH ?? '' } });
    const controller = new AbortController();
    const pending = runner.verify({ ...request, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    assert.equal(result.outcome, VerifyOutcome.CouldNotVerify);
    assert.match(result.reason, /deadline/);
  });

  it('bounds concurrent runs', async () => {
    const counter = join(dir, 'concurrent');
    writeFileSync(counter, '');
    // Each run appends "+" on start and "-" on exit; the running maximum must not exceed the bound.
    // A run waits (bounded) until two runs have started, so the first two overlap however slowly the
    // machine starts them, and a bound below 2 shows up as a maximum of 1.
    const notation = script(
      'notation-count',
      `echo + >> ${counter}\nfor i in $(seq 1 100); do [ "$(grep -c + ${counter})" -ge 2 ] && break; sleep 0.1; done\necho - >> ${counter}\necho "Successfully verified signature for x"`,
    );
    const runner = new NotationRunner({ notationPath: notation, libexecDir: dir, cacheDir: dir, maxConcurrent: 2, env: { PATH: process.env.PATH ?? '' } });
    const results = await Promise.all(Array.from({ length: 6 }, () => runner.verify(request)));
    assert.ok(results.every((r) => r.outcome === VerifyOutcome.Verified));
    let current = 0;
    let max = 0;
    for (const mark of readFileSync(counter, 'utf8').trim().split('\n')) {
      current += mark === '+' ? 1 : -1;
      max = Math.max(max, current);
    }
    assert.equal(max, 2);
    assert.equal(runner.runs, 6);
  });

  it('reports a missing executable as could-not-verify, started directly or through nice', async () => {
    for (const nicePath of [undefined, '/usr/bin/nice']) {
      const runner = new NotationRunner({ notationPath: join(dir, 'does-not-exist'), libexecDir: dir, cacheDir: dir, niceness: 5, nicePath });
      const result = await runner.verify(request);
      assert.equal(result.outcome, VerifyOutcome.CouldNotVerify, String(nicePath));
      assert.match(result.reason, /could not be started/);
    }
  });

  it('runs notation and what it starts at the added niceness, through nice(1) or by lowering the priority after the spawn', async () => {
    const base = getPriority();
    for (const nicePath of ['/usr/bin/nice', undefined]) {
      const out = join(dir, `niceness-${nicePath === undefined ? 'set' : 'nice'}.txt`);
      // The plugin stands for what notation starts: a child process, which inherits the priority.
      const notation = script(
        `notation-nice-${nicePath === undefined ? 'set' : 'nice'}`,
        `sleep 0.5
sh -c 'nice' > ${out}
echo "Successfully verified signature for x"`,
      );
      const runner = new NotationRunner({
        notationPath: notation,
        libexecDir: dir,
        cacheDir: dir,
        niceness: 7,
        nicePath,
        env: { PATH: process.env.PATH ?? '' },
      });
      assert.equal((await runner.verify(request)).outcome, VerifyOutcome.Verified);
      assert.equal(Number(readFileSync(out, 'utf8').trim()), Math.min(19, base + 7), String(nicePath));
    }
    const plain = join(dir, 'niceness-plain.txt');
    const runner = new NotationRunner({
      notationPath: script('notation-plain', `nice > ${plain}\necho "Successfully verified signature for x"`),
      libexecDir: dir,
      cacheDir: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    await runner.verify(request);
    assert.equal(Number(readFileSync(plain, 'utf8').trim()), base, 'niceness 0 (the runner default) leaves the priority alone');
  });
});
