// Start-up errors say what to fix (configuration mistakes must not surface as a crash later).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseFlags } from './config/flags.js';
import { startVerifier } from './app.js';

const silent = pino({ level: 'silent' });
const empty = mkdtempSync(join(tmpdir(), 'app-test-'));
after(() => rmSync(empty, { recursive: true, force: true }));
const start = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  startVerifier({ flags: parseFlags(['--httpPort=0', '--health-probe-bind-address=0', '--metrics-bind-address=0', ...args]).flags, env: { PATH: '/usr/bin:/bin', HOME: empty, ...env }, logger: silent });

describe('startVerifier refuses a configuration it cannot serve', () => {
  it('local mode without --policyDir', async () => {
    await assert.rejects(start(['--local', '--reviewKyvernoToken=false']), /--local needs --policyDir DIR/);
  });

  it('local mode with token review but no kubeconfig', async () => {
    await assert.rejects(
      start(['--local', `--policyDir=${empty}`, '--notationPath=/bin/true'], { NOTATION_LIBEXEC: empty }),
      /token review needs a kubeconfig in local mode: set KUBECONFIG or --kubeconfig, or pass --reviewKyvernoToken=false/,
    );
  });

  it('no notation on PATH', async () => {
    await assert.rejects(start(['--local', `--policyDir=${empty}`, '--reviewKyvernoToken=false']), /notation was not found on PATH/);
  });

  it('no plugin directory', async () => {
    await assert.rejects(start(['--local', `--policyDir=${empty}`, '--reviewKyvernoToken=false', '--notationPath=/bin/true']), /no notation plugin directory/);
  });

  it('an unknown --onInfraError', async () => {
    await assert.rejects(start(['--onInfraError=maybe']), /--onInfraError must be deny or allow/);
  });

  it('HTTPS without a serving certificate', async () => {
    await assert.rejects(
      start([`--bundleDir=${empty}`, '--reviewKyvernoToken=false', '--notationPath=/bin/true', `--tlsCertFile=${join(empty, 'tls.crt')}`], { NOTATION_LIBEXEC: empty }),
      /cannot load the serving certificate \(--tlsCertFile .*tls\.crt.*ENOENT.*or serve plain HTTP with --notls/,
    );
  });
});
