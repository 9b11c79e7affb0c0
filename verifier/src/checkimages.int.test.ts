// /checkimages end to end: the verifier in local mode (in-process) against the real notation, the AWS
// Signer plugin, both registry kinds and the fake AWS Signer API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createSigningChain, describeSignerPlugin, push, revoke, sign, startHarness, type Harness } from '@kna/e2e';
import type { RunningVerifier } from './app.js';
import { NotationHelper } from './notation/helper.js';
import { NotationRunner } from './notation/runner.js';
import {
  imageInfo as info,
  pluginConfigMapManifest,
  podRequest,
  postCheckImages,
  startLocalVerifier as startVerifierFor,
  trustPolicyManifest,
  trustStoreManifest,
  type PodImage,
} from '../testkit/localVerifier.js';
import { procStat } from '../testkit/proc.js';

let harness: Harness;
let verifier: RunningVerifier;
let otherRoot: string;

const OTHER_PROFILE = () => harness.profileArn.replace(/HarnessProfile$/, 'OtherProfile');
const REVOCABLE_PROFILE = (policy: string) => harness.profileArn.replace(/HarnessProfile$/, policy.replace('-', '_'));

function trustPolicy(name: string, statement: { scopes: string[]; level?: string; store?: string; identities?: string[] }): string {
  return trustPolicyManifest(name, { ...statement, identities: statement.identities ?? [harness.profileArn] });
}

const check = (body: unknown, url = verifier.url) => postCheckImages(url, body);

function pod(images: Record<string, PodImage>, extra: Record<string, unknown> = {}) {
  return podRequest(images, { trustPolicy: 'tenant-a', ...extra });
}

async function pushed(registry: string, signed: 'harness' | 'other' | 'none', tag = 'v1'): Promise<PodImage & { digest: string }> {
  const path = `it/${randomUUID().slice(0, 8)}`;
  const { digest } = await push(`${registry}/${path}:${tag}`);
  if (signed !== 'none') await sign(harness, `${registry}/${path}@${digest}`, signed === 'other' ? { profileArn: OTHER_PROFILE() } : {});
  return { registry, path, tag, digest };
}

// The default engine, the notation helper; KNA_NOTATION_ENGINE=cli runs this file against the notation CLI
// (docs/architecture.md "Two notation engines").
const ENGINE = process.env.KNA_NOTATION_ENGINE === 'cli' ? 'cli' : 'helper';

function startLocalVerifier(policyDir: string, extraFlags: string[] = []): Promise<RunningVerifier> {
  return startVerifierFor(harness, policyDir, { flags: [`--notationEngine=${ENGINE}`, ...extraFlags], env: { DEFAULT_TRUST_POLICY: 'tenant-a' } });
}

before(async () => {
  console.log(`under test: ${describeSignerPlugin()}, notation engine ${ENGINE}`);
  harness = await startHarness();
  otherRoot = (await createSigningChain({ name: 'Foreign' })).root.certPem;
  const policyDir = join(harness.dir, 'policies');
  mkdirSync(policyDir);
  const files: Record<string, string> = {
    'stores.yaml': [trustStoreManifest('harness-root', readFileSync(harness.rootCert, 'utf8')), trustStoreManifest('foreign-root', otherRoot)].join('---\n'),
    'tenant-a.yaml': trustPolicy('tenant-a', { scopes: ['*'] }),
    'tenant-b.yaml': trustPolicy('tenant-b', { scopes: ['*'], identities: [OTHER_PROFILE()] }),
    'foreign.yaml': trustPolicy('foreign', { scopes: ['*'], store: 'foreign-root' }),
    'revocable.yaml': ['revocable-a', 'revocable-b'].map((p) => trustPolicy(p, { scopes: ['*'], identities: [REVOCABLE_PROFILE(p)] })).join('---\n'),
    'plugin.yaml': pluginConfigMapManifest(harness.pluginConfig),
  };
  for (const [file, text] of Object.entries(files)) writeFileSync(join(policyDir, file), text);
  verifier = await startLocalVerifier(policyDir);
});

after(async () => {
  await verifier.close();
  await harness.stop();
});

for (const kind of ['referrers API', 'referrers tag schema'] as const) {
  describe(`registry with the ${kind}`, () => {
    const registry = () => (kind === 'referrers API' ? harness.registry : harness.registryTagSchema);

    it('pins a signed image to its digest (200 + patch)', async () => {
      const image = await pushed(registry(), 'harness');
      const res = await check(pod({ app: { ...image, digest: '' } }));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), {
        verified: true,
        results: [{ op: 'replace', path: '/spec/containers/0/image', value: `${image.registry}/${image.path}@${image.digest}` }],
      });
    });

    it('denies an unsigned image with a message naming container, image, digest and a hint (406)', async () => {
      const image = await pushed(registry(), 'none');
      const res = await check(pod({ app: { ...image, digest: '' } }));
      assert.equal(res.status, 406);
      assert.equal(
        res.text,
        `container "app" image ${image.registry}/${image.path}:v1 (${image.digest}): no notation signature found; sign it with AWS Signer or exclude it with imageReferences\n`,
      );
    });

    it('denies an image signed by a profile the trust policy does not trust (406)', async () => {
      const image = await pushed(registry(), 'other');
      const res = await check(pod({ app: { ...image, digest: '' } }));
      assert.equal(res.status, 406);
      assert.match(res.text, /signing profile is not a trusted identity of the trust policy/);
    });

    it('denies an image whose signing profile was revoked (406)', async () => {
      const policy = kind === 'referrers API' ? 'revocable-a' : 'revocable-b';
      const profile = REVOCABLE_PROFILE(policy);
      const path = `it/${randomUUID().slice(0, 8)}`;
      const { digest } = await push(`${registry()}/${path}:v1`);
      const signed = await sign(harness, `${registry()}/${path}@${digest}`, { profileArn: profile });
      await revoke(harness, { profileArn: profile });
      const res = await check({ ...pod({ app: { registry: registry(), path, tag: 'v1' } }), trustPolicy: policy });
      assert.equal(res.status, 406);
      assert.ok(res.text.includes(`revocation check failed: Resource(s) ${signed.job.profileVersionArn} have been revoked.`), res.text);
    });

    it('denies a signature whose chain ends in a root outside the trust store (406)', async () => {
      const image = await pushed(registry(), 'harness');
      const res = await check({ ...pod({ app: { ...image, digest: '' } }), trustPolicy: 'foreign' });
      assert.equal(res.status, 406);
      assert.match(res.text, /container "app" image .*: signature verification failed: .*; the signature's certificate chain does not lead/);
    });
  });
}

describe('request semantics', () => {
  it('denies an image whose signing job was revoked, naming the job (406)', async () => {
    const image = await pushed(harness.registry, 'harness');
    assert.equal((await check(pod({ app: image }))).status, 200);
    const { job } = await sign(harness, `${image.registry}/${image.path}@${image.digest}`);
    assert.ok(job.jobArn);
    const fresh = await pushed(harness.registry, 'none');
    const signed = await sign(harness, `${fresh.registry}/${fresh.path}@${fresh.digest}`);
    await revoke(harness, { jobArn: signed.job.jobArn });
    const res = await check(pod({ app: fresh }));
    assert.equal(res.status, 406);
    assert.ok(res.text.includes(`revocation check failed: Resource(s) ${signed.job.jobArn} have been revoked.`), res.text);
    assert.match(res.text, /sign the image again with an active profile/);
  });

  it('gives no patch for an image whose trust policy level is skip (200)', async () => {
    const dir = join(harness.dir, `skip-${randomUUID().slice(0, 6)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'p.yaml'), trustPolicy('skipper', { scopes: ['*'], level: 'skip' }));
    writeFileSync(join(dir, 'cm.yaml'), pluginConfigMapManifest(harness.pluginConfig));
    const skipping = await startLocalVerifier(dir);
    try {
      const image = await pushed(harness.registry, 'none');
      const res = await check({ ...pod({ app: image }), trustPolicy: 'skipper' }, skipping.url);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), { verified: true, results: [] });
    } finally {
      await skipping.close();
    }
  });

  it('verifies only the images imageReferences selects', async () => {
    const signed = await pushed(harness.registry, 'harness');
    const unsigned = await pushed(harness.registryTagSchema, 'none');
    const body = pod({ app: signed, sidecar: unsigned }, { imageReferences: [`${harness.registry}/*`] });
    const res = await check(body);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((res.json().results as unknown[]).length, 1);
    assert.equal(((res.json().results as { path: string }[])[0] ?? { path: '' }).path, '/spec/containers/0/image');
    const all = await check({ ...body, imageReferences: [] });
    assert.equal(all.status, 406, 'an empty list selects every image');
  });

  it('takes the trust policy from the request, else DEFAULT_TRUST_POLICY, and names an unknown one', async () => {
    const image = await pushed(harness.registry, 'harness');
    const { trustPolicy: _unused, ...withoutPolicy } = pod({ app: image });
    assert.equal((await check(withoutPolicy)).status, 200, 'DEFAULT_TRUST_POLICY=tenant-a trusts the harness profile');
    assert.equal((await check({ ...withoutPolicy, trustPolicy: 'tenant-b' })).status, 406, 'tenant-b trusts another profile');
    const unknown = await check({ ...withoutPolicy, trustPolicy: 'nope' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /no trust policy named "nope" is loaded \(loaded: "foreign", "revocable-a", "revocable-b", "tenant-a", "tenant-b"\)/);
  });

  it('denies a tag moved to an unsigned image after its first verification (no stale pass)', async () => {
    const image = await pushed(harness.registry, 'harness', 'moving');
    const body = pod({ app: { registry: image.registry, path: image.path, tag: 'moving' } });
    assert.equal((await check(body)).status, 200);
    assert.equal((await check(body)).status, 200, 'second time from the cache');
    const { digest: moved } = await push(`${image.registry}/${image.path}:moving`);
    const res = await check(body);
    assert.equal(res.status, 406);
    assert.ok(res.text.includes(`(${moved}): no notation signature found`), res.text);
  });

  it('with the tag cache on, a tag moved to an unsigned image keeps pinning the old verified digest within the TTL, never the new one', async () => {
    const tagCached = await startLocalVerifier(join(harness.dir, 'policies'), ['--tagCacheTTLSeconds=3600']);
    try {
      const image = await pushed(harness.registry, 'harness', 'moving');
      const body = pod({ app: { registry: image.registry, path: image.path, tag: 'moving' } });
      const first = await check(body, tagCached.url);
      assert.equal(first.status, 200, first.text);
      assert.ok(first.text.includes(image.digest), first.text);
      const { digest: moved } = await push(`${image.registry}/${image.path}:moving`);
      assert.notEqual(moved, image.digest);
      // Within the TTL the tag still means the image it named (the old, verified digest): with the verdict
      // cached, and with the cache cleared, so that the pinned digest is verified again by notation.
      for (const clear of [false, true]) {
        if (clear) tagCached.cache.clear();
        const runs = tagCached.runner.runs;
        const res = await check(body, tagCached.url);
        assert.ok(!(res.status === 200 && res.text.includes(moved)), `the unsigned digest was admitted: ${res.text}`);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.json(), {
          verified: true,
          results: [{ op: 'replace', path: '/spec/containers/0/image', value: `${image.registry}/${image.path}@${image.digest}` }],
        });
        assert.equal(tagCached.runner.runs - runs, clear ? 1 : 0, 'the pinned digest is the one notation verified');
      }
      // The same pod by digest of the unsigned image is denied: the tag memory changed which image the tag means, nothing else.
      const direct = await check(pod({ app: { registry: image.registry, path: image.path, digest: moved } }), tagCached.url);
      assert.equal(direct.status, 406, direct.text);
    } finally {
      await tagCached.close();
    }
  });

  it('runs notation once for eight containers of one image, and reports every failing image in order', async () => {
    const image = await pushed(harness.registry, 'harness');
    const before = verifier.runner.runs;
    const eight = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`c${i}`, image]));
    const res = await check(pod(eight));
    assert.equal(res.status, 200);
    assert.equal((res.json().results as unknown[]).length, 8);
    assert.equal(verifier.runner.runs - before, 1);

    const bad = await pushed(harness.registry, 'none');
    const mixed = {
      images: {
        initContainers: { zinit: info(bad, '/spec/initContainers/0/image') },
        containers: { b: info(bad, '/spec/containers/1/image'), a: info(image, '/spec/containers/0/image') },
      },
      trustPolicy: 'tenant-a',
    };
    const denied = await check(mixed);
    assert.equal(denied.status, 406);
    const lines = denied.text.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^container "b" image /);
    assert.match(lines[1] ?? '', /^init container "zinit" image /);
  });
});

describe('AWS Signer unavailable for the revocation check', () => {
  it("is could-not-verify (503) with the plugin's reason, after the AWS SDK's 3 attempts; nothing is denied or cached", async () => {
    const image = await pushed(harness.registry, 'harness');
    const signer = harness.signer;
    assert.ok(signer, 'in-process harness exposes its signer');
    const calls = () => signer.requests.filter((r) => r.operation === 'GetRevocationStatus').length;
    const before = calls();
    signer.setFault('revocation-unavailable');
    try {
      const res = await check(pod({ app: image }));
      assert.equal(res.status, 503, res.text);
      assert.match(
        res.text,
        /could not complete signature verification: revocation check failed: GetRevocationStatus call failed with error: operation error signer: GetRevocationStatus, exceeded maximum number of attempts, 3, https response error StatusCode: 503/,
      );
      assert.match(res.text, /ServiceUnavailableException: harness fault: revocation status unavailable/);
      assert.equal(calls() - before, 3, "the plugin's AWS SDK retries a 503 twice");
    } finally {
      signer.setFault(null);
    }
    // Once AWS Signer answers again, the same image verifies (the failure was not cached).
    const again = await check(pod({ app: image }));
    assert.equal(again.status, 200, again.text);
  });
});

describe('a hung notation', () => {
  it('is killed at its timeout, with the plugin it started, and the image could not be verified (503)', async () => {
    const dir = join(harness.dir, 'policies');
    const hung = await startLocalVerifier(dir, ['--notationTimeoutSeconds=2', '--cacheEnabled=false', '--metrics-bind-address=127.0.0.1:0']);
    const image = await pushed(harness.registry, 'harness');
    harness.signer?.setFault('revocation-hang');
    try {
      const res = await check(pod({ app: { ...image, digest: '' } }), hung.url); // by tag: the registry is asked too
      assert.equal(res.status, 503, res.text);
      // notation's own timeout answered, not the request's 25 s budget.
      assert.match(res.text, /could not be verified: (notation|the verification) did not finish within 2000 ms and was (stopped|cancelled)/);
      if (hung.runner instanceof NotationRunner) assert.equal(hung.runner.live.size, 0);
      const helperPid = hung.runner instanceof NotationHelper ? hung.runner.pid : undefined;
      // Nothing that ran with this verifier's notation configuration is left (the CLI's processes carry
      // it in their environment; the helper's plugins are its children).
      const leftovers = readdirSync('/proc').filter((pid) => {
        if (!/^\d+$/.test(pid)) return false;
        try {
          const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
          const [state, ppid] = procStat(pid).fields;
          if (state === 'Z') return false;
          if (helperPid !== undefined && Number(ppid) === helperPid) return true;
          return [...(hung.store.current?.policies.values() ?? [])].some((p) => environ.includes(`NOTATION_CONFIG=${p.configDir}`));
        } catch {
          return false;
        }
      });
      assert.deepEqual(leftovers, []);

      const metrics = await (await fetch(`${hung.metricsUrl ?? ''}/metrics`)).text();
      assert.match(metrics, /^kna_checkimages_requests_total\{status="503"\} 1$/m);
      assert.match(metrics, /^kna_notation_verify_duration_seconds_count\{outcome="could-not-verify"\} 1$/m);
      assert.match(metrics, /^kna_registry_request_duration_seconds_count\{operation="resolve",status="200"\} [1-9]/m);
      assert.match(metrics, /^kna_image_verifications_total\{outcome="could-not-verify",kind="infrastructure",cache="disabled"\} 1$/m);
    } finally {
      harness.signer?.setFault(null);
      await hung.close();
    }
  });
});
