// A verdict belongs to the repository it was reached for (docs/architecture.md "Caches and what they are
// keyed by"): trust-policy statements are chosen by registry scope and signatures live in the repository,
// so the same digest in two repositories can have two answers, whatever order they are asked in. Also
// the registry host as the scopes see it (DNS names are case-insensitive) and the request fields that
// must be refused before anything runs. Real notation, the AWS Signer plugin, both registry kinds and
// the fake AWS Signer API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { attach, copy, push, sign, startHarness, type Harness } from '@kna/e2e';
import type { RunningVerifier } from './app.js';
import { imageInfo, podRequest, postCheckImages, startLocalVerifier, trustPolicyManifest, writePolicyDir, type PodImage } from '../testkit/localVerifier.js';

const SBOM = 'sbom/example';
const CONDITIONS = { all: [{ key: '{{creationInfo.licenseListVersion}}', operator: 'Equals', value: '3.17' }] };
const PAYLOAD = Buffer.from(JSON.stringify({ creationInfo: { licenseListVersion: '3.17' } }));

let harness: Harness;
let verifier: RunningVerifier;
/** Profile A: the harness's. Profile B: another one of the same account and chain. */
let profileA: string;
let profileB: string;

before(async () => {
  harness = await startHarness();
  profileA = harness.profileArn;
  profileB = harness.profileArn.replace(/HarnessProfile$/, 'LooseProfile');
  const registries = [harness.registry, harness.registryTagSchema];
  const scoped = trustPolicyManifest('scoped', [
    { name: 'strict', scopes: registries.map((r) => `${r}/ns/strict`), identities: [profileA] },
    { name: 'loose', scopes: registries.map((r) => `${r}/ns/loose`), identities: [profileB] },
  ]);
  const upper = trustPolicyManifest('upper', [
    { name: 'app', scopes: [`${harness.registry}/x/app`], identities: [profileA] },
    { name: 'rest', scopes: ['*'], level: 'skip', identities: [] },
  ]);
  const dir = writePolicyDir(harness, 'policies', { policies: [], extra: { 'scoped.yaml': scoped, 'upper.yaml': upper } });
  verifier = await startLocalVerifier(harness, dir);
});

after(async () => {
  await (verifier as RunningVerifier | undefined)?.close();
  await (harness as Harness | undefined)?.stop();
});

const check = (body: unknown) => postCheckImages(verifier.url, body);
const ask = (image: PodImage, extra: Record<string, unknown> = {}) => check(podRequest({ app: image }, { trustPolicy: 'scoped', ...extra }));

/**
 * One image (one digest) in `<registry>/ns/loose` signed with profile B, and the same manifest copied to
 * `<registry>/ns/strict`, signed there with `strictSigner` (or not at all).
 */
async function sameDigestTwoRepositories(registry: string, strictSigner?: string): Promise<{ loose: PodImage; strict: PodImage; digest: string }> {
  const tag = `t-${randomUUID().slice(0, 8)}`;
  const { digest } = await push(`${registry}/ns/loose:${tag}`);
  await sign(harness, `${registry}/ns/loose@${digest}`, { profileArn: profileB });
  const copied = await copy(`${registry}/ns/loose@${digest}`, `${registry}/ns/strict:${tag}`);
  assert.equal(copied.digest, digest, 'the copy has the same digest');
  if (strictSigner !== undefined) await sign(harness, `${registry}/ns/strict@${digest}`, { profileArn: strictSigner });
  return { loose: { registry, path: 'ns/loose', tag }, strict: { registry, path: 'ns/strict', tag }, digest };
}

/** Attaches the same signed-or-not SBOM referrer (same digest in both repositories: fixed annotations). */
async function sbom(image: PodImage, digest: string, signer: string | undefined): Promise<string> {
  const { descriptor } = await attach(harness, `${image.registry}/${image.path}@${digest}`, {
    artifactType: SBOM,
    payload: PAYLOAD,
    annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    sign: signer !== undefined,
    ...(signer !== undefined && { profileArn: signer }),
  });
  return descriptor.digest;
}

const ATTESTATIONS = { attestations: [{ imageReference: '*', type: [{ name: SBOM, conditions: CONDITIONS }] }] };

for (const kind of ['referrers API', 'referrers tag schema'] as const) {
  describe(`one digest in two repositories, registry with the ${kind}`, () => {
    const registry = () => (kind === 'referrers API' ? harness.registry : harness.registryTagSchema);

    it('denies the strict repository after the loose one was admitted', async () => {
      const { loose, strict, digest } = await sameDigestTwoRepositories(registry());
      const first = await ask(loose);
      assert.equal(first.status, 200, first.text);
      const second = await ask(strict);
      assert.equal(second.status, 406, `strict answered from loose's verdict: ${second.text}`);
      assert.equal(
        second.text,
        `container "app" image ${registry()}/ns/strict:${strict.tag} (${digest}): no notation signature found; sign it with AWS Signer or exclude it with imageReferences\n`,
      );
    });

    it('admits the loose repository after the strict one was denied', async () => {
      const { loose, strict } = await sameDigestTwoRepositories(registry());
      assert.equal((await ask(strict)).status, 406);
      const res = await ask(loose);
      assert.equal(res.status, 200, `loose answered from strict's verdict: ${res.text}`);
    });

    it('checks the attestation of each repository on its own, in either order', async () => {
      for (const order of ['loose first', 'strict first'] as const) {
        // The image verifies in both repositories (B under loose, A under strict); the SBOM referrer has
        // the same digest in both but is signed (with B) only where loose's statement applies.
        const { loose, strict, digest } = await sameDigestTwoRepositories(registry(), profileA);
        const inLoose = await sbom(loose, digest, profileB);
        const inStrict = await sbom(strict, digest, undefined);
        assert.equal(inStrict, inLoose, 'the referrer has the same digest in both repositories');
        const asked = order === 'loose first' ? [loose, strict] : [strict, loose];
        const answers = new Map<PodImage, number>();
        for (const image of asked) {
          const res = await ask(image, ATTESTATIONS);
          answers.set(image, res.status);
          if (image === strict)
            assert.match(res.text, /attestation check failed: attestation "sbom\/example" \(referrer sha256:[0-9a-f]+\): no notation signature found/, order);
        }
        assert.deepEqual([answers.get(loose), answers.get(strict)], [200, 406], order);
      }
    });
  });
}

describe('the registry host, whatever its case', () => {
  it('is verified under the statement of its scope (406 unsigned, 200 signed) and shares one cache entry with the lower-case spelling', async () => {
    const upperHost = harness.registry.toUpperCase();
    const unsigned = `u-${randomUUID().slice(0, 8)}`;
    const { digest: unsignedDigest } = await push(`${harness.registry}/x/app:${unsigned}`);
    const denied = await check(podRequest({ app: { registry: upperHost, path: 'x/app', tag: unsigned } }, { trustPolicy: 'upper' }));
    assert.equal(denied.status, 406, `an upper-case host escaped the strict statement: ${denied.text}`);
    assert.ok(denied.text.includes(`image ${upperHost}/x/app:${unsigned} (${unsignedDigest}): no notation signature found`), denied.text);

    const signed = `s-${randomUUID().slice(0, 8)}`;
    const { digest } = await push(`${harness.registry}/x/app:${signed}`);
    await sign(harness, `${harness.registry}/x/app@${digest}`);
    const lower = await check(podRequest({ app: { registry: harness.registry, path: 'x/app', digest } }, { trustPolicy: 'upper' }));
    assert.equal(lower.status, 200, lower.text);
    const before = verifier.cache.stats;
    const upper = await check(podRequest({ app: { registry: upperHost, path: 'x/app', digest } }, { trustPolicy: 'upper' }));
    assert.equal(upper.status, 200, upper.text);
    // The patch keeps the registry as Kyverno wrote it; only the digest is added.
    assert.deepEqual(upper.json().results, [{ op: 'replace', path: '/spec/containers/0/image', value: `${upperHost}/x/app@${digest}` }]);
    assert.deepEqual(verifier.cache.stats, { hits: before.hits + 1, misses: before.misses }, 'the two spellings share one entry');
  });
});

describe('request fields refused before anything runs (400 naming the field)', () => {
  const image = (): PodImage => ({ registry: harness.registry, path: 'x/app', tag: 'v1' });
  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    [
      'a missing jsonPointer',
      () => ({ images: { containers: { app: { registry: harness.registry, path: 'x/app', tag: 'v1' } } } }),
      /^invalid request: \/images\/containers\/app\/jsonPointer /,
    ],
    ['an empty jsonPointer', () => ({ images: { containers: { app: imageInfo(image(), '') } } }), /^invalid request: \/images\/containers\/app\/jsonPointer /],
    [
      'a jsonPointer that does not start with "/"',
      () => ({ images: { initContainers: { init: imageInfo(image(), 'spec/containers/0/image') } } }),
      /^invalid request: \/images\/initContainers\/init\/jsonPointer /,
    ],
    [
      'a port with leading zeros',
      () => ({ images: { containers: { app: imageInfo({ ...image(), registry: 'localhost:046397' }, '/spec/containers/0/image') } } }),
      /^invalid request: \/images\/containers\/app\/registry .*leading zero/,
    ],
    [
      'user information in the registry',
      () => ({ images: { containers: { app: imageInfo({ ...image(), registry: `user:secret@${harness.registry}` }, '/spec/containers/0/image') } } }),
      /^invalid request: \/images\/containers\/app\/registry .*user information/,
    ],
  ];
  for (const [what, body, message] of cases) {
    it(`refuses ${what}`, async () => {
      const res = await check({ ...body(), trustPolicy: 'upper' });
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, message);
      assert.ok(!res.text.includes('secret'), 'the password is not echoed');
    });
  }
});

describe('imageReferences that select nothing', () => {
  for (const [what, references] of [
    ['[""]', ['']],
    ['a pattern no image matches', ['ghcr.io/nothing/*']],
  ] as const) {
    it(`answers 200 with a warning and counts it (${what})`, async () => {
      const res = await check(
        podRequest({ app: { registry: harness.registry, path: 'x/app', tag: 'v1' } }, { trustPolicy: 'upper', imageReferences: references }),
      );
      assert.equal(res.status, 200, res.text);
      const json = res.json();
      assert.deepEqual(json.results, []);
      assert.equal(json.verified, true);
      assert.ok(Array.isArray(json.warnings) && json.warnings.length === 1, res.text);
      assert.match(String((json.warnings as unknown[])[0]), /imageReferences .* selected none of the 1 image/);
      const metrics = await verifier.metrics.registry.getSingleMetricAsString('kna_image_references_selected_nothing_total');
      assert.match(metrics, /kna_image_references_selected_nothing_total [1-9]/);
    });
  }
});

describe('503 bodies in product terms', () => {
  let plain: Server;
  let plainPort: number;
  let reviewing: RunningVerifier;

  before(async () => {
    // A plain-HTTP listener where TLS is expected: the TLS handshake fails inside OpenSSL.
    plain = createServer((_req, res) => res.end('not TLS'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    plainPort = (plain.address() as { port: number }).port;
    const kubeconfig = join(harness.dir, 'unreachable-kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${plainPort}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: u, user: {token: verifier-token}}]',
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
        '',
      ].join('\n'),
    );
    reviewing = await startLocalVerifier(harness, join(harness.dir, 'policies'), { flags: ['--reviewKyvernoToken=true', `--kubeconfig=${kubeconfig}`] });
  });

  after(async () => {
    await (reviewing as RunningVerifier | undefined)?.close();
    await new Promise((resolve) => plain.close(resolve));
  });

  function assertProductTerms(text: string): void {
    assert.ok(!/openssl|SSL routines|https?:\/\//i.test(text), `internals in a 503 body: ${text}`);
  }

  it('when TokenReview fails on TLS: says the API server could not be reached, without the TLS library or its URL', async () => {
    const res = await fetch(`${reviewing.url}/checkimages`, {
      method: 'POST',
      headers: { authorization: 'Bearer some-token' },
      body: JSON.stringify(podRequest({ app: { registry: harness.registry, path: 'x/app', tag: 'v1' } }, { trustPolicy: 'upper' })),
    });
    const text = await res.text();
    assert.equal(res.status, 503, text);
    assert.match(text, /could not review the bearer token with the Kubernetes API: .*TLS/);
    assertProductTerms(text);
  });

  it('when notation cannot reach the registry: names the registry, without its URL', async () => {
    // 127.0.0.2 is loopback but not "localhost": reached over HTTPS, and nothing listens there.
    const res = await check(
      podRequest({ app: { registry: `127.0.0.2:${plainPort}`, path: 'x/app', digest: `sha256:${'a'.repeat(64)}` } }, { trustPolicy: 'scoped' }),
    );
    assert.equal(res.status, 503, res.text);
    assertProductTerms(res.text);
  });

  it('when the registry client meets a TLS failure: says so without the TLS library', async () => {
    const tlsless = createServer((_req, res) => res.end('not TLS'));
    await new Promise<void>((resolve) => tlsless.listen(0, '127.0.0.2', resolve));
    try {
      const port = (tlsless.address() as { port: number }).port;
      const res = await check(podRequest({ app: { registry: `127.0.0.2:${port}`, path: 'x/app', tag: 'v1' } }, { trustPolicy: 'scoped' }));
      assert.equal(res.status, 503, res.text);
      assert.match(res.text, /TLS/);
      assertProductTerms(res.text);
    } finally {
      await new Promise((resolve) => tlsless.close(resolve));
    }
  });
});
