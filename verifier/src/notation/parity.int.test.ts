// The two notation engines give the same classification (docs/architecture.md "Two notation engines"):
// each scenario runs through the notation CLI (NotationRunner) and the notation helper (NotationHelper)
// with the same request, against the real notation, notation-go, AWS Signer plugin, registries and the
// fake AWS Signer API, and the two answers must be identical (and the expected one).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  answers,
  describeSignerPlugin,
  freePort,
  push,
  revoke,
  sign,
  startHarness,
  startOnFreePort,
  toolPath,
  toolsEnv,
  type Harness,
  type RunningProcess,
} from '@kna/e2e';
import { localVerifierEnv } from '../../testkit/localVerifier.js';
import { FailureKind, VerifyOutcome, type Classification } from './classify.js';
import { materializePolicy } from './configDir.js';
import type { NotationEngine, VerifyRequest } from './engine.js';
import { NotationHelper } from './helper.js';
import { NotationRunner } from './runner.js';

let harness: Harness;
let cli: NotationRunner;
let helper: NotationHelper;
let configRoot: string;
const processes: RunningProcess[] = [];

const STORE = 'signingAuthority:harness-root';

interface Statement {
  readonly scopes?: readonly string[];
  readonly level?: string;
  readonly override?: Record<string, string>;
  readonly identities?: readonly string[];
}

/** A notation configuration directory holding one statement, written as the verifier writes them. */
function policy(name: string, statement: Statement = {}): string {
  const skip = statement.level === 'skip';
  const document = {
    version: '1.0',
    trustPolicies: [
      {
        name,
        registryScopes: statement.scopes ?? ['*'],
        signatureVerification: { level: statement.level ?? 'strict', ...(statement.override && { override: statement.override }) },
        trustStores: skip ? [] : [STORE],
        trustedIdentities: skip ? [] : (statement.identities ?? [harness.profileArn]),
      },
    ],
  };
  const text = JSON.stringify(document);
  return materializePolicy(configRoot, {
    version: createHash('sha256').update(text).digest('hex'),
    document,
    trustStores: [{ type: 'signingAuthority', name: 'harness-root', certificates: [readFileSync(harness.rootCert, 'utf8')] }],
  });
}

async function pushed(registry: string): Promise<string> {
  const { digest } = await push(`${registry}/parity/${randomUUID().slice(0, 8)}:v1`);
  return digest;
}

async function image(registry = harness.registry, options: { signed?: boolean } = {}): Promise<{ reference: string; jobArn?: string }> {
  const path = `parity/${randomUUID().slice(0, 8)}`;
  const { digest } = await push(`${registry}/${path}:v1`);
  const reference = `${registry}/${path}@${digest}`;
  if (options.signed === false) return { reference };
  const { job } = await sign(harness, reference);
  return { reference, jobArn: job.jobArn };
}

function request(reference: string, configDir: string): VerifyRequest {
  return { reference, configDir, pluginConfig: harness.pluginConfig };
}

/** The classification, without what differs between any two calls: the request id AWS's SDK puts in its errors. */
function classification(result: Classification): Classification {
  const stable = (text: string) => text.replace(/RequestID: [0-9a-f-]+/g, 'RequestID: <id>');
  return { outcome: result.outcome, kind: result.kind, reason: stable(result.reason), warnings: result.warnings.map(stable) };
}

const table: string[] = [];

/** Verifies with both engines; asserts they agree, and returns the (common) classification. */
async function both(scenario: string, req: VerifyRequest): Promise<Classification> {
  const viaCli = classification(await cli.verify(req));
  const viaHelper = classification(await helper.verify(req));
  table.push(`${scenario}: ${JSON.stringify(viaCli) === JSON.stringify(viaHelper) ? 'same' : 'DIFFERENT'} (${viaCli.outcome}/${viaCli.kind})`);
  assert.deepEqual(viaHelper, viaCli, `${scenario}: the helper's classification differs from the CLI's`);
  return viaCli;
}

before(async () => {
  console.log(`under test: ${describeSignerPlugin()}`);
  harness = await startHarness();
  configRoot = join(harness.dir, 'configs');
  mkdirSync(configRoot);
  const options = {
    libexecDir: toolsEnv().NOTATION_LIBEXEC,
    cacheDir: join(harness.dir, 'notation-cache'),
    env: localVerifierEnv(harness),
  };
  cli = new NotationRunner({ ...options, notationPath: toolPath('notation') });
  helper = new NotationHelper({ ...options, helperPath: toolPath('kna-notation-helper') });
});

after(async () => {
  console.log(`parity:\n  ${table.join('\n  ')}`);
  for (const engine of [cli, helper] as NotationEngine[]) engine.killAll();
  await Promise.all(processes.map((p) => p.stop()));
  await harness.stop();
});

describe('the notation CLI and the notation helper classify alike', () => {
  it('signed and trusted, with the referrers API and with the referrers tag schema', async () => {
    for (const registry of [harness.registry, harness.registryTagSchema]) {
      const { reference } = await image(registry);
      const c = await both(`signed and trusted (${registry === harness.registry ? 'referrers API' : 'tag schema'})`, request(reference, policy('tenant')));
      assert.deepEqual([c.outcome, c.kind, c.warnings], [VerifyOutcome.Verified, FailureKind.None, []]);
    }
  });

  it('unsigned', async () => {
    const { reference } = await image(harness.registry, { signed: false });
    const c = await both('unsigned', request(reference, policy('tenant')));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.Unsigned]);
  });

  it('signed by a profile that is not a trusted identity', async () => {
    const { reference } = await image();
    const other = harness.profileArn.replace(/HarnessProfile$/, 'OtherProfile');
    const c = await both('untrusted signing profile', request(reference, policy('other', { identities: [other] })));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.UntrustedIdentity]);
  });

  it('revoked signing job; and the same with revocation set to log (verified, with a warning)', async () => {
    const { reference, jobArn } = await image();
    assert.ok(jobArn);
    await revoke(harness, { jobArn });
    const c = await both('revoked', request(reference, policy('tenant')));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.Revoked]);
    const logged = await both('revoked, revocation: log', request(reference, policy('logging', { override: { revocation: 'log' } })));
    assert.equal(logged.outcome, VerifyOutcome.Verified);
    assert.equal(logged.warnings.length, 1);
    assert.match(logged.warnings[0] ?? '', /^revocation was set to "log" and failed with error: .*have been revoked/);
  });

  it('AWS Signer unavailable for the revocation check', async () => {
    const { reference } = await image();
    harness.signer?.setFault('revocation-unavailable');
    try {
      const c = await both('AWS Signer unavailable', request(reference, policy('tenant')));
      assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.CouldNotVerify, FailureKind.Infrastructure]);
    } finally {
      harness.signer?.setFault(null);
    }
  });

  it('no applicable trust policy statement', async () => {
    const { reference } = await image();
    const c = await both('no applicable statement', request(reference, policy('elsewhere', { scopes: ['registry.example/only'] })));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.NoApplicablePolicy]);
  });

  it('trust level skip', async () => {
    const { reference } = await image(harness.registry, { signed: false });
    const c = await both('trust level skip', request(reference, policy('skipper', { level: 'skip' })));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Skipped, FailureKind.None]);
  });

  it('manifest not found', async () => {
    const digest = await pushed(harness.registry);
    const c = await both('manifest not found', request(`${harness.registry}/parity/absent-${randomUUID().slice(0, 8)}@${digest}`, policy('tenant')));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.Denied, FailureKind.NotFound]);
  });

  it('registry down (connection refused)', async () => {
    const digest = await pushed(harness.registry);
    const c = await both('registry down', request(`127.0.0.1:${await freePort()}/parity/app@${digest}`, policy('tenant')));
    assert.deepEqual([c.outcome, c.kind], [VerifyOutcome.CouldNotVerify, FailureKind.Infrastructure]);
    assert.match(c.reason, /connection refused/);
  });

  it('a registry with Basic auth: credentials as notation takes them, none, a wrong password', async () => {
    // An olareg directory store, seeded (image and signature) through an open olareg, then served read-only with Basic auth.
    const dir = join(harness.dir, 'auth-registry');
    const store = join(dir, 'store');
    mkdirSync(store, { recursive: true });
    const olareg = toolPath('olareg');
    const serve = (name: string, extra: string[]) =>
      startOnFreePort((port) => ({
        name,
        command: olareg,
        args: ['serve', '--addr', '127.0.0.1', '--port', String(port), '--dir', store, ...extra],
        logFile: join(dir, `${name}.log`),
        ready: () => answers(`http://127.0.0.1:${port}/v2/`),
      }));
    const seed = await serve('olareg-seed', []);
    const { digest } = await push(`localhost:${seed.port}/private/app:v1`);
    await sign(harness, `localhost:${seed.port}/private/app@${digest}`);
    await seed.stop();
    const password = `pw-${randomUUID()}`;
    const hash = execFileSync(olareg, ['hash', '--pass', password], { encoding: 'utf8' }).trim();
    const authFile = join(dir, 'auth.yaml');
    writeFileSync(
      authFile,
      ['users:', '  robot:', `    cred: "${hash}"`, 'acls:', '  - repo: "*"', '    members: ["robot"]', '    access: ["read"]', ''].join('\n'),
    );
    const locked = await serve('olareg-basic', ['--store-ro', '--auth-basic', authFile]);
    processes.push(locked);
    const base = request(`localhost:${locked.port}/private/app@${digest}`, policy('tenant'));

    const ok = await both('Basic auth, right credentials', { ...base, credentials: { username: 'robot', password } });
    assert.equal(ok.outcome, VerifyOutcome.Verified, ok.reason);
    const none = await both('Basic auth, no credentials', base);
    assert.notEqual(none.outcome, VerifyOutcome.Verified);
    const wrong = await both('Basic auth, wrong password', { ...base, credentials: { username: 'robot', password: 'wrong' } });
    assert.notEqual(wrong.outcome, VerifyOutcome.Verified);
  });

  it('a configuration directory that does not exist', async () => {
    const { reference } = await image();
    const c = await both('configuration directory missing', request(reference, join(configRoot, 'f'.repeat(64))));
    assert.equal(c.outcome, VerifyOutcome.Denied);
    assert.match(c.reason, /^trust policy is not present/);
  });
});
