// Start-up errors say what to fix (configuration mistakes must not surface as a crash later).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseFlags } from './config/flags.js';
import { startVerifier } from './app.js';

const silent = pino({ level: 'silent' });
const empty = mkdtempSync(join(tmpdir(), 'app-test-'));
after(() => rmSync(empty, { recursive: true, force: true }));
const start = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  startVerifier({
    flags: parseFlags(['--httpPort=0', '--health-probe-bind-address=0', '--metrics-bind-address=0', ...args]).flags,
    env: { PATH: '/usr/bin:/bin', HOME: empty, ...env },
    logger: silent,
  });

describe('startVerifier refuses a configuration it cannot serve', () => {
  it('local mode without --policyDir', async () => {
    await assert.rejects(start(['--local', '--reviewKyvernoToken=false']), /--local needs --policyDir DIR/);
  });

  it('local mode with token review but no kubeconfig', async () => {
    await assert.rejects(
      start(['--local', `--policyDir=${empty}`, '--notationEngine=cli', '--notationPath=/bin/true'], { NOTATION_LIBEXEC: empty }),
      /token review needs a kubeconfig in local mode: set KUBECONFIG or --kubeconfig, or pass --reviewKyvernoToken=false/,
    );
  });

  it('a kubeconfig whose user runs a command (exec): names what is not supported', async () => {
    const kubeconfig = join(empty, 'exec-kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, args: [eks, get-token]}}}]',
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
        '',
      ].join('\n'),
    );
    await assert.rejects(
      start(['--local', `--policyDir=${empty}`, '--notationEngine=cli', '--notationPath=/bin/true', `--kubeconfig=${kubeconfig}`], { NOTATION_LIBEXEC: empty }),
      {
        code: 'VERIFIER_ERR_KUBECONFIG',
        message: /cannot use kubeconfig .*exec-kubeconfig \(context "c"\) to reach the Kubernetes API for TokenReview: user "u" uses exec credentials/,
      },
    );
  });

  it('no notation on PATH', async () => {
    await assert.rejects(start(['--local', `--policyDir=${empty}`, '--reviewKyvernoToken=false', '--notationEngine=cli']), /notation was not found on PATH/);
  });

  it('an unknown --notationEngine, and the helper engine (the default) without the helper', async () => {
    const local = ['--local', `--policyDir=${empty}`, '--reviewKyvernoToken=false'];
    await assert.rejects(start([...local, '--notationEngine=daemon']), /--notationEngine must be cli or helper, not "daemon"/);
    await assert.rejects(start(local), /the notation helper "kna-notation-helper" was not found \(--notationHelperPath/);
    await assert.rejects(start([...local, '--notationEngine=helper']), /the notation helper "kna-notation-helper" was not found \(--notationHelperPath/);
    await assert.rejects(
      start([...local, '--notationEngine=helper', `--notationHelperPath=${join(empty, 'absent')}`]),
      /the notation helper ".*absent" was not found/,
    );
  });

  it('no plugin directory', async () => {
    await assert.rejects(
      start(['--local', `--policyDir=${empty}`, '--reviewKyvernoToken=false', '--notationEngine=cli', '--notationPath=/bin/true']),
      /no notation plugin directory/,
    );
  });

  it('an unknown --onInfraError', async () => {
    await assert.rejects(start(['--onInfraError=maybe']), /--onInfraError must be deny or allow/);
  });

  it('load-shedding limits out of range', async () => {
    await assert.rejects(start(['--maxEventLoopDelay=-1']), /--maxEventLoopDelay must be 0 \(off\) or positive/);
    await assert.rejects(start(['--maxHeapUsedBytes=-5']), /--maxHeapUsedBytes must be 0 \(off\) or positive/);
    await assert.rejects(start(['--maxEventLoopUtilization=1.5']), /--maxEventLoopUtilization is a fraction between 0 \(off\) and 1, not 1.5/);
  });

  it('HTTPS without a serving certificate', async () => {
    await assert.rejects(
      start(
        [`--bundleDir=${empty}`, '--reviewKyvernoToken=false', '--notationEngine=cli', '--notationPath=/bin/true', `--tlsCertFile=${join(empty, 'tls.crt')}`],
        {
          NOTATION_LIBEXEC: empty,
        },
      ),
      /cannot load the serving certificate \(--tlsCertFile .*tls\.crt.*ENOENT.*or serve plain HTTP with --notls/,
    );
  });
});

describe('the verifier command', () => {
  /** Runs main.ts as a user would (the way this test runs: tsx's loader from execArgv); its exit status and stderr. */
  const run = (args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [...process.execArgv, join(import.meta.dirname, 'main.ts'), ...args],
        { env: { PATH: '/usr/bin:/bin', HOME: empty }, timeout: 60_000 },
        (err, _stdout, stderr) => done({ status: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });

  it('refuses an unknown --notationEngine as it refuses other bad flag values: one line naming the flag, exit status 2', async () => {
    const [engine, other] = await Promise.all([run(['--notationEngine=daemon']), run(['--onInfraError=maybe'])]);
    assert.deepEqual(engine, { status: 2, stderr: 'verifier: --notationEngine must be cli or helper, not "daemon"\n' });
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /^verifier: --onInfraError must be deny or allow/);
  });
});

describe('a policy directory that cannot be read', () => {
  it('is logged as such, without claiming that a previous bundle keeps serving', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const verifier = await startVerifier({
      flags: parseFlags([
        '--local',
        `--policyDir=${join(empty, 'missing')}`,
        '--reviewKyvernoToken=false',
        '--notationEngine=cli',
        '--notationPath=/bin/true',
        '--httpPort=0',
        '--bindAddress=127.0.0.1',
        '--health-probe-bind-address=0',
        '--metrics-bind-address=0',
      ]).flags,
      env: { PATH: '/usr/bin:/bin', HOME: empty, NOTATION_LIBEXEC: empty },
      logger: pino({ level: 'info' }, sink),
    });
    try {
      const rejected = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('bundle rejected'));
      assert.ok(rejected, `a rejection is logged: ${JSON.stringify(lines)}`);
      assert.match(String(rejected.msg), /no bundle is loaded yet: \/checkimages answers 503/);
      assert.doesNotMatch(String(rejected.msg), /previous bundle/);
      assert.match(String(rejected.err), /cannot read the policy directory: ENOENT/);
    } finally {
      await verifier.close();
    }
  });
});
