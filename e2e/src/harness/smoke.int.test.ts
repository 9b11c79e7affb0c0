// Proves the harness with the bare notation CLI: real notation, the AWS Signer plugin, both registry
// kinds and the fake Signer API produce signatures that verify, and every way a signature should fail
// fails with notation's own message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createSigningChain } from './pki.js';
import { pluginConfigArgs, runNotation, writeVerifyConfig, type NotationResult } from './notation.js';
import { push, revoke, sign, startHarness, type Harness } from './harness.js';
import { profileArnOf } from './fake-signer.js';
import { tamperSignatures } from './tamper.js';
import { describeSignerPlugin, signerPlugin } from './tools-env.js';

let harness: Harness;
let otherRoot: string;

before(async () => {
  console.log(`under test: ${describeSignerPlugin()}`);
  harness = await startHarness();
  otherRoot = (await createSigningChain({ name: 'Untrusted' })).root.certPem;
});
after(async () => {
  await harness.stop();
});

interface VerifyOptions {
  readonly identities?: string[];
  readonly rootPem?: string;
  /** Added to the harness's plugin environment. */
  readonly env?: Readonly<Record<string, string>>;
}

async function notationVerify(reference: string, options: VerifyOptions = {}): Promise<NotationResult> {
  const dir = writeVerifyConfig({
    dir: mkdtempSync(join(harness.dir, 'verify-')),
    statements: [
      {
        name: 'aws-signer',
        registryScopes: ['*'],
        signatureVerification: { level: 'strict' },
        trustStores: ['signingAuthority:aws-signer-ts'],
        trustedIdentities: options.identities ?? [harness.profileArn],
      },
    ],
    trustStores: { 'signingAuthority:aws-signer-ts': [options.rootPem ?? readFileSync(harness.rootCert, 'utf8')] },
  });
  return runNotation({
    configDir: dir,
    env: { ...harness.pluginEnv, ...options.env },
    args: ['verify', '-v', ...pluginConfigArgs(harness.pluginConfig), reference],
  });
}

function profile(name: string): string {
  return harness.profileArn.replace(/HarnessProfile$/, name);
}

for (const kind of ['referrers API', 'referrers tag schema'] as const) {
  describe(`notation verify against the registry with the ${kind}`, () => {
    const registry = () => (kind === 'referrers API' ? harness.registry : harness.registryTagSchema);
    const repo = () => `${registry()}/smoke/${randomUUID().slice(0, 8)}`;

    async function pushed(): Promise<string> {
      const r = repo();
      const { digest } = await push(`${r}:v1`);
      return `${r}@${digest}`;
    }

    it('verifies a signed image', async () => {
      const ref = await pushed();
      const signed = await sign(harness, ref);
      assert.equal(signed.reference, ref);
      const result = await notationVerify(ref);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Successfully verified signature for ${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    });

    it('verifies an image signed by tag, and the multi-arch index signature covers the index digest', async () => {
      const r = repo();
      const { digest } = await push(`${r}:multi`, { index: true });
      const signed = await sign(harness, `${r}:multi`);
      assert.equal(signed.reference, `${r}@${digest}`);
      const result = await notationVerify(`${r}@${digest}`);
      assert.equal(result.code, 0, result.stderr);
    });

    it('rejects an unsigned image', async () => {
      const ref = await pushed();
      const result = await notationVerify(ref);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`Error: signature verification failed: no signature is associated with "${ref}"`));
    });

    it('rejects a signature from a profile the trust policy does not name', async () => {
      const ref = await pushed();
      await sign(harness, ref, { profileArn: profile('SomeoneElse') });
      const result = await notationVerify(ref);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Error: signature verification failed for all the signatures associated with/);
      assert.match(result.stderr, /Signature publisher doesn't match any trusted identities\./);
    });

    it('rejects a signature whose signing profile was revoked', async () => {
      const ref = await pushed();
      const name = `Revoked${randomUUID().slice(0, 6)}`;
      const signed = await sign(harness, ref, { profileArn: profile(name) });
      assert.equal((await notationVerify(ref, { identities: [profile(name)] })).code, 0, 'verifies before the revocation');
      await revoke(harness, { profileArn: profile(name) });
      const result = await notationVerify(ref, { identities: [profile(name)] });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Error: signature verification failed for all the signatures associated with/);
      assert.ok(result.stderr.includes(`Resource(s) ${signed.job.profileVersionArn} have been revoked.`), result.stderr);
      assert.equal(profileArnOf(signed.job.profileVersionArn), profile(name));
    });

    it('rejects a signature whose signing job was revoked, and only that one', async () => {
      const revokedRef = await pushed();
      const keptRef = await pushed();
      const revokedJob = await sign(harness, revokedRef);
      await sign(harness, keptRef);
      await revoke(harness, { jobArn: revokedJob.job.jobArn });
      const result = await notationVerify(revokedRef);
      assert.equal(result.code, 1);
      assert.ok(result.stderr.includes(`Resource(s) ${revokedJob.job.jobArn} have been revoked.`), result.stderr);
      assert.equal((await notationVerify(keptRef)).code, 0, 'another job of the same profile still verifies');
    });

    it('rejects a tampered signature envelope', async () => {
      const ref = await pushed();
      await sign(harness, ref);
      const tampered = await tamperSignatures(ref);
      assert.equal(tampered.length, 1);
      const result = await notationVerify(ref);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Error: signature verification failed for all the signatures associated with/);
      assert.match(result.stderr, /integrity/i);
    });

    it('rejects a signature chained to a root that is not in the trust store', async () => {
      const ref = await pushed();
      await sign(harness, ref);
      const result = await notationVerify(ref, { rootPem: otherRoot });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Error: signature verification failed for all the signatures associated with/);
      assert.match(result.stderr, /authenticity validation failed/i);
      assert.match(result.stderr, /not signed by a trusted certificate|does not contain any trusted certificate|trusted certificate/i);
    });

    it('has the plugin reject "*" as a trusted identity', async () => {
      const ref = await pushed();
      await sign(harness, ref);
      const result = await notationVerify(ref, { identities: ['*'] });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /The AWSSigner plugin does not support wildcard identity in the trust policy\./);
    });
  });
}

describe('the AWS Signer plugin', () => {
  async function signed(): Promise<string> {
    const r = `${harness.registry}/smoke/${randomUUID().slice(0, 8)}`;
    const { digest } = await push(`${r}:v1`);
    await sign(harness, `${r}@${digest}`);
    return `${r}@${digest}`;
  }

  it('matches only signing-profile and signing-profile-version ARNs: an alias ARN is not a trusted identity', async () => {
    const ref = await signed();
    const alias = harness.profileArn.replace(/:\/signing-profiles\/.*$/, ':/aliases/prod');
    const result = await notationVerify(ref, { identities: [alias] });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Signature publisher doesn't match any trusted identities\./);
  });

  it('writes a debug log under the user config directory when AWS_SIGNER_NOTATION_PLUGIN_DEBUG=true, and fails without one', async () => {
    const ref = await signed();
    const config = mkdtempSync(join(harness.dir, 'xdg-'));
    const ok = await notationVerify(ref, { env: { AWS_SIGNER_NOTATION_PLUGIN_DEBUG: 'true', XDG_CONFIG_HOME: config } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(readFileSync(join(config, 'notation-aws-signer', 'plugin.log'), 'utf8'), /Logs from execution of AWS signer plugin version: 1\.0\.350/);
    // A config "directory" that cannot be created (a file is in the way): the plugin exits before answering.
    const blocked = join(harness.dir, `blocked-${randomUUID().slice(0, 8)}`);
    writeFileSync(blocked, '');
    const failed = await notationVerify(ref, { env: { AWS_SIGNER_NOTATION_PLUGIN_DEBUG: 'true', XDG_CONFIG_HOME: blocked } });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /failed to execute the get-plugin-metadata command for plugin com\.amazonaws\.signer\.notation\.plugin: exit status 100/);
    assert.match(failed.stderr, /Error: signature verification failed for all the signatures associated with/);
  });

  it("is AWS's release 1.0.350, as the binary itself reports (get-plugin-metadata)", () => {
    const plugin = signerPlugin();
    assert.equal(plugin.name, 'com.amazonaws.signer.notation.plugin');
    assert.equal(plugin.version, '1.0.350');
    assert.equal(plugin.description, 'AWS Signer plugin for Notation');
  });

  it('called the fake AWS Signer API: revocation checks on the SDK-prefixed host through the proxy, signing on the plain one', () => {
    const signer = harness.signer;
    assert.ok(signer, 'in-process harness exposes its signer');
    const revocations = signer.requests.filter((r) => r.operation === 'GetRevocationStatus');
    const signings = signer.requests.filter((r) => r.operation === 'SignPayload');
    assert.ok(revocations.length > 0 && signings.length > 0, 'both operations were called');
    assert.deepEqual([...new Set(signings.map((r) => r.host))], ['signer.kna.test']);
    // The SDK's endpoint host prefix for GetRevocationStatus, applied even to a custom endpoint.
    assert.deepEqual([...new Set(revocations.map((r) => r.host))], ['verification.signer.kna.test']);
    // The plugin identifies itself to AWS Signer in the User-Agent of every call.
    for (const r of signer.requests) assert.match(r.userAgent, /aws-signer-caller\/NotationPlugin-1\.0\.350\b/, r.userAgent);
  });
});
