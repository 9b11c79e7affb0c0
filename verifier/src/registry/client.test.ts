// The client against the in-process fake registry: digests, integrity, size caps, referrers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Outcome } from '@kna/shared/errors';
import { RegistryClient } from './client.js';
import { digestOf } from './digest.js';
import {
  ERR_REGISTRY_DIGEST_MISMATCH,
  ERR_REGISTRY_INVALID_CONTENT,
  ERR_REGISTRY_INVALID_REFERENCE,
  ERR_REGISTRY_NOT_FOUND,
  ERR_REGISTRY_PROTOCOL,
  ERR_REGISTRY_SIZE_MISMATCH,
  ERR_REGISTRY_TOO_LARGE,
} from './errors.js';
import { MediaType } from './mediaTypes.js';
import { FakeRegistry, OCI_INDEX, OCI_MANIFEST } from '../../testkit/registry/fake-registry.js';
import { rejectsWith } from '../../testkit/registry/assertions.js';

const fakes: FakeRegistry[] = [];
async function fake(options: Parameters<typeof FakeRegistry.start>[0] = {}): Promise<FakeRegistry> {
  const registry = await FakeRegistry.start(options);
  fakes.push(registry);
  return registry;
}
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

describe('resolveDigest', () => {
  let registry: FakeRegistry;
  const client = new RegistryClient();
  before(async () => {
    registry = await fake();
  });

  it('resolves a tag with HEAD: digest, media type and size, no body transferred', async () => {
    const image = registry.putImage('team/app', 'v1');
    const got = await client.resolveDigest({ registry: registry.host, repository: 'team/app', tag: 'v1' });
    assert.deepEqual(got, { digest: image.digest, mediaType: OCI_MANIFEST, size: image.size });
    const calls = registry.requestsTo('/v2/team/app/manifests/v1');
    assert.deepEqual(
      calls.map((c) => c.method),
      ['HEAD'],
    );
    const accept = calls[0]?.headers.accept ?? '';
    for (const type of [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest])
      assert.ok(accept.includes(type), type);
  });

  it('resolves a multi-architecture index to the index digest', async () => {
    const amd = registry.putImage('multi');
    const arm = registry.putImage('multi');
    const index = registry.putManifest(
      'multi',
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [amd, arm].map((m) => ({ mediaType: OCI_MANIFEST, digest: m.digest, size: m.size })) },
      { tag: 'latest' },
    );
    const got = await client.resolveDigest({ registry: registry.host, repository: 'multi', tag: 'latest' });
    assert.deepEqual(got, { digest: index.digest, mediaType: OCI_INDEX, size: index.size });
  });

  it('checks a digest reference: what the registry serves must be that digest', async () => {
    const image = registry.putImage('pinned', 'v1');
    const got = await client.resolveDigest({ registry: registry.host, repository: 'pinned', digest: image.digest });
    assert.equal(got.digest, image.digest);
    // A registry that answers a digest HEAD with another digest is not trusted.
    const liar = await fake();
    const other = liar.putImage('pinned', 'v1');
    liar.intercept((req, res, r) => {
      if (r.method !== 'HEAD') return false;
      res.writeHead(200, { 'docker-content-digest': other.digest, 'content-type': OCI_MANIFEST, 'content-length': other.size }).end();
      return true;
    });
    const err = await rejectsWith(client.resolveDigest({ registry: liar.host, repository: 'pinned', digest: image.digest }), ERR_REGISTRY_DIGEST_MISMATCH);
    assert.equal(err.outcome, Outcome.Denied);
    assert.match(err.message, /integrity failure/);
    assert.ok(err.message.includes(image.digest) && err.message.includes(other.digest));
  });

  it('falls back to GET and hashes the body when HEAD has no digest or is not allowed', async () => {
    for (const options of [{ digestHeader: false }, { headNotAllowed: true }]) {
      const quirky = await fake(options);
      const image = quirky.putImage('app', 'v1');
      const got = await client.resolveDigest({ registry: quirky.host, repository: 'app', tag: 'v1' });
      assert.deepEqual(got, { digest: image.digest, mediaType: OCI_MANIFEST, size: image.size });
      assert.deepEqual(
        quirky.requestsTo('/v2/app/manifests/v1').map((c) => c.method),
        ['HEAD', 'GET'],
        JSON.stringify(options),
      );
    }
  });

  it("refuses a GET body whose hash differs from a digest reference or from the registry's own header", async () => {
    const quirky = await fake({ headNotAllowed: true });
    const image = quirky.putImage('app', 'v1');
    quirky.intercept((req, res, r) => {
      if (r.method !== 'GET' || !r.path.endsWith(image.digest)) return false;
      const forged = Buffer.from(image.bytes.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': forged.length }).end(forged);
      return true;
    });
    await rejectsWith(client.resolveDigest({ registry: quirky.host, repository: 'app', digest: image.digest }), ERR_REGISTRY_DIGEST_MISMATCH);

    const inconsistent = await fake({ headNotAllowed: true });
    inconsistent.putImage('app', 'v1');
    inconsistent.intercept((req, res, r) => {
      if (r.method !== 'GET') return false;
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': digestOf(Buffer.from('other')) }).end(image.bytes);
      return true;
    });
    await rejectsWith(client.resolveDigest({ registry: inconsistent.host, repository: 'app', tag: 'v1' }), ERR_REGISTRY_DIGEST_MISMATCH);
  });

  it('denies an image that does not exist, naming the reference and the registry error', async () => {
    const err = await rejectsWith(client.resolveDigest({ registry: registry.host, repository: 'team/app', tag: 'missing' }), ERR_REGISTRY_NOT_FOUND);
    assert.equal(err.outcome, Outcome.Denied);
    assert.match(err.message, new RegExp(`manifest ${registry.host}/team/app:missing does not exist \\(HTTP 404\\)`));
    const quirky = await fake({ headNotAllowed: true });
    const viaGet = await rejectsWith(client.resolveDigest({ registry: quirky.host, repository: 'x', tag: 'nope' }), ERR_REGISTRY_NOT_FOUND);
    assert.match(viaGet.message, /HTTP 404 MANIFEST_UNKNOWN "manifest unknown"/);
  });

  it('refuses references it cannot check before sending anything', async () => {
    const before = registry.requests.length;
    for (const ref of [
      { registry: registry.host, repository: 'Team/App', tag: 'v1' },
      { registry: registry.host, repository: '../etc', tag: 'v1' },
      { registry: registry.host, repository: 'app', tag: 'v1/../../x' },
      { registry: registry.host, repository: 'app', digest: 'md5:0123' },
      { registry: 'bad host', repository: 'app', tag: 'v1' },
      { registry: registry.host, repository: 'app' },
    ]) {
      await rejectsWith(client.resolveDigest(ref), ERR_REGISTRY_INVALID_REFERENCE);
    }
    assert.equal(registry.requests.length, before);
  });
});

describe('getManifest', () => {
  let registry: FakeRegistry;
  const client = new RegistryClient();
  before(async () => {
    registry = await fake();
  });

  it('returns the checked bytes and a typed manifest or index', async () => {
    const image = registry.putImage('app', 'v1');
    const got = await client.getManifest({ registry: registry.host, repository: 'app' }, image.digest);
    assert.deepEqual(got.descriptor, { digest: image.digest, mediaType: OCI_MANIFEST, size: image.size });
    assert.ok(got.bytes.equals(image.bytes));
    assert.ok(got.manifest.kind === 'manifest');
    assert.equal(got.manifest.layers.length, 1);
    const index = registry.putManifest('app', {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: image.digest, size: image.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }],
    });
    const gotIndex = await client.getManifest({ registry: registry.host, repository: 'app' }, index.digest);
    assert.ok(gotIndex.manifest.kind === 'index');
    assert.deepEqual(gotIndex.manifest.manifests[0]?.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
  });

  it('denies content that does not hash to the requested digest (integrity)', async () => {
    const image = registry.putImage('tampered', 'v1');
    const forged = Buffer.from(image.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    registry.intercept((req, res, r) => {
      if (!r.path.endsWith(`/tampered/manifests/${image.digest}`)) return false;
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': image.digest }).end(forged);
      return true;
    });
    const err = await rejectsWith(client.getManifest({ registry: registry.host, repository: 'tampered' }, image.digest), ERR_REGISTRY_DIGEST_MISMATCH);
    assert.equal(err.outcome, Outcome.Denied);
  });

  it('refuses manifests over the cap without reading them, and malformed or ambiguous ones', async () => {
    const small = new RegistryClient({ maxManifestBytes: 256 });
    const big = registry.putManifest('shapes', {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'x', digest: digestOf(Buffer.from('c')), size: 1 },
      layers: [],
      annotations: { pad: 'x'.repeat(1000) },
    });
    await rejectsWith(small.getManifest({ registry: registry.host, repository: 'shapes' }, big.digest), ERR_REGISTRY_TOO_LARGE);
    await rejectsWith(small.resolveDigest({ registry: registry.host, repository: 'shapes', digest: big.digest }), ERR_REGISTRY_TOO_LARGE);

    const cases: [Buffer | object, RegExp, string?][] = [
      [Buffer.from('{not json'), /not JSON/],
      [Buffer.from('[1,2]'), /not a JSON object/],
      [{ schemaVersion: 1, name: 'old' }, /schemaVersion must be 2/],
      [{ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: 'sha256:short', size: 1 }, layers: [] }, /\$\.config\.digest/],
      [{ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, /contradicts the Content-Type/, OCI_MANIFEST],
      [{ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }, /unsupported manifest media type/],
    ];
    for (const [document, message, mediaType] of cases) {
      const stored = registry.putManifest('shapes', document, mediaType === undefined ? {} : { mediaType });
      const err = await rejectsWith(client.getManifest({ registry: registry.host, repository: 'shapes' }, stored.digest), ERR_REGISTRY_INVALID_CONTENT);
      assert.match(err.message, message);
      assert.equal(err.outcome, Outcome.Denied);
    }
  });

  it('accepts an OCI manifest without a mediaType field by its Content-Type', async () => {
    const stored = registry.putManifest(
      'bare',
      { schemaVersion: 2, config: { mediaType: 'x', digest: digestOf(Buffer.from('c')), size: 1 }, layers: [] },
      { mediaType: OCI_MANIFEST },
    );
    const got = await client.getManifest({ registry: registry.host, repository: 'bare' }, stored.digest);
    assert.equal(got.manifest.mediaType, OCI_MANIFEST);
  });
});

describe('getBlob', () => {
  let registry: FakeRegistry;
  const client = new RegistryClient();
  before(async () => {
    registry = await fake();
  });

  it('returns a blob whose digest and size check out', async () => {
    const data = randomBytes(10_000);
    const blob = registry.putBlob('app', data);
    const got = await client.getBlob({ registry: registry.host, repository: 'app' }, blob.digest, { maxBytes: 20_000, expectedSize: blob.size });
    assert.ok(got.equals(data));
  });

  it("denies a blob whose content or size is not the descriptor's", async () => {
    const blob = registry.putBlob('app', Buffer.from('payload'));
    const tampered = await fake();
    tampered.intercept((req, res, r) => {
      if (!r.path.endsWith(`/blobs/${blob.digest}`)) return false;
      res.writeHead(200, { 'content-length': 7 }).end('PAYLOAD');
      return true;
    });
    await rejectsWith(client.getBlob({ registry: tampered.host, repository: 'app' }, blob.digest, { maxBytes: 100 }), ERR_REGISTRY_DIGEST_MISMATCH);
    await rejectsWith(
      client.getBlob({ registry: registry.host, repository: 'app' }, blob.digest, { maxBytes: 100, expectedSize: 8 }),
      ERR_REGISTRY_SIZE_MISMATCH,
    );
    await rejectsWith(
      client.getBlob({ registry: registry.host, repository: 'app' }, digestOf(Buffer.from('absent')), { maxBytes: 100 }),
      ERR_REGISTRY_NOT_FOUND,
    );
  });

  it('refuses a blob whose Content-Length is over the cap without reading it', async () => {
    const blob = registry.putBlob('big', randomBytes(5000));
    const err = await rejectsWith(client.getBlob({ registry: registry.host, repository: 'big' }, blob.digest, { maxBytes: 4096 }), ERR_REGISTRY_TOO_LARGE);
    assert.match(err.message, /larger than the 4096-byte limit/);
  });

  it('stops reading an endless body as soon as it passes the cap', async () => {
    const endless = await fake();
    const digest = digestOf(Buffer.from('whatever'));
    let written = 0;
    let closed: Promise<unknown> = Promise.resolve();
    endless.intercept((req, res) => {
      // No Content-Length: the cap can only be enforced while streaming.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      closed = once(res, 'close');
      const chunk = randomBytes(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return true;
    });
    const maxBytes = 1024 * 1024;
    await rejectsWith(client.getBlob({ registry: endless.host, repository: 'app' }, digest, { maxBytes }), ERR_REGISTRY_TOO_LARGE);
    await closed; // the client closed the connection: the server cannot go on writing
    // Socket buffers hold some data the client never read; nothing close to an unbounded stream.
    assert.ok(written < maxBytes + 16 * 1024 * 1024, `server wrote ${written} bytes`);
  });

  it('follows a redirect to object storage without sending the registry credentials there', async () => {
    const storage = await fake();
    const data = Buffer.from('layer bytes');
    const registry2 = await fake({ auth: { kind: 'basic', username: 'u', password: 'p' } });
    const digest = digestOf(data);
    registry2.intercept((req, res, r) => {
      if (!r.path.endsWith(`/blobs/${digest}`) || !r.headers.authorization) return false;
      res.writeHead(307, { location: `http://localhost:${storage.host.split(':')[1]}/bucket/object?sig=1` }).end();
      return true;
    });
    storage.intercept((req, res, r) => {
      if (r.path !== '/bucket/object') return false;
      res.writeHead(200, { 'content-length': data.length }).end(data);
      return true;
    });
    const authed = new RegistryClient({ credentials: () => Promise.resolve({ kind: 'basic', username: 'u', password: 'p' }) });
    const got = await authed.getBlob({ registry: registry2.host, repository: 'app' }, digest, { maxBytes: 100 });
    assert.ok(got.equals(data));
    const atStorage = storage.requestsTo('/bucket/object');
    assert.equal(atStorage.length, 1);
    assert.equal(atStorage[0]?.headers.authorization, undefined);
  });
});

describe('listReferrers', () => {
  const client = new RegistryClient();
  const SBOM = 'application/spdx+json';
  const SIG = MediaType.NotationSignature;

  it('lists referrers through the API, filtered by the registry when it says so', async () => {
    const registry = await fake();
    const image = registry.putImage('app', 'v1');
    const sbom = registry.putReferrer('app', { ...image, mediaType: OCI_MANIFEST }, SBOM, { spdxVersion: 'SPDX-2.3' });
    const sig = registry.putReferrer('app', { ...image, mediaType: OCI_MANIFEST }, SIG);
    const all = await client.listReferrers({ registry: registry.host, repository: 'app' }, image.digest);
    assert.equal(all.via, 'referrers-api');
    assert.deepEqual(all.referrers.map((r) => r.digest).sort(), [sbom.digest, sig.digest].sort());
    assert.deepEqual(
      all.referrers.find((r) => r.digest === sbom.digest),
      {
        mediaType: OCI_MANIFEST,
        digest: sbom.digest,
        size: sbom.size,
        artifactType: SBOM,
        annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
      },
    );
    const onlySbom = await client.listReferrers({ registry: registry.host, repository: 'app' }, image.digest, { artifactType: SBOM });
    assert.deepEqual(
      onlySbom.referrers.map((r) => r.digest),
      [sbom.digest],
    );
    assert.equal(onlySbom.filteredBy, 'registry');
    const asked = registry.requests.filter((r) => r.path === `/v2/app/referrers/${image.digest}`).at(-1);
    assert.equal(asked?.query.get('artifactType'), SBOM);
  });

  it('filters itself when the registry ignores the filter, and follows Link pages', async () => {
    const registry = await fake({ filterReferrers: false, referrersPageSize: 2 });
    const image = registry.putImage('app', 'v1');
    const subject = { ...image, mediaType: OCI_MANIFEST };
    const expected = [1, 2, 3].map((n) => registry.putReferrer('app', subject, SBOM, { n }).digest);
    registry.putReferrer('app', subject, SIG, { n: 4 });
    registry.putReferrer('app', subject, SIG, { n: 5 });
    const list = await client.listReferrers({ registry: registry.host, repository: 'app' }, image.digest, { artifactType: SBOM });
    assert.deepEqual([...list.referrers.map((r) => r.digest)].sort(), expected.sort());
    assert.equal(list.filteredBy, 'client');
    assert.equal(registry.requestsTo(`/v2/app/referrers/${image.digest}`).length, 3, 'five referrers in pages of two');
  });

  it('falls back to the referrers tag schema when the API answers 404', async () => {
    const registry = await fake({ referrersApi: false });
    const image = registry.putImage('app', 'v1');
    const subject = { ...image, mediaType: OCI_MANIFEST };
    const none = await client.listReferrers({ registry: registry.host, repository: 'app' }, image.digest);
    assert.deepEqual(none, { referrers: [], via: 'referrers-tag-schema' });

    const sbom = registry.putReferrer('app', subject, SBOM);
    const sig = registry.putReferrer('app', subject, SIG);
    const entry = (m: { digest: string; size: number }, artifactType: string) => ({ mediaType: OCI_MANIFEST, digest: m.digest, size: m.size, artifactType });
    registry.putManifest(
      'app',
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [entry(sbom, SBOM), entry(sig, SIG)] },
      { tag: `sha256-${image.digest.slice(7)}` },
    );
    const list = await client.listReferrers({ registry: registry.host, repository: 'app' }, image.digest, { artifactType: SIG });
    assert.deepEqual(list, { referrers: [entry(sig, SIG)], via: 'referrers-tag-schema', filteredBy: 'client' });
  });

  it('denies a broken tag-schema index (the pusher wrote it) but blames the registry for a broken API page', async () => {
    const tagSchema = await fake({ referrersApi: false });
    const image = tagSchema.putImage('app', 'v1');
    tagSchema.putImage('app', `sha256-${image.digest.slice(7)}`);
    const err = await rejectsWith(client.listReferrers({ registry: tagSchema.host, repository: 'app' }, image.digest), ERR_REGISTRY_INVALID_CONTENT);
    assert.match(err.message, /is an image manifest .*, not an index/);

    const api = await fake();
    const other = api.putImage('app', 'v1');
    api.intercept((req, res, r) => {
      if (!r.path.includes('/referrers/')) return false;
      res.writeHead(200, { 'content-type': OCI_INDEX }).end(JSON.stringify({ manifests: [{ digest: 'nope' }] }));
      return true;
    });
    const protocol = await rejectsWith(client.listReferrers({ registry: api.host, repository: 'app' }, other.digest), ERR_REGISTRY_PROTOCOL);
    assert.equal(protocol.outcome, Outcome.CouldNotVerify);
  });

  it('does not follow a Link to another origin', async () => {
    const registry = await fake();
    const image = registry.putImage('app', 'v1');
    registry.intercept((req, res, r) => {
      if (!r.path.includes('/referrers/')) return false;
      res.writeHead(200, { 'content-type': OCI_INDEX, link: '<https://elsewhere.example.com/v2/app/referrers/x>; rel="next"' });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
      return true;
    });
    const err = await rejectsWith(client.listReferrers({ registry: registry.host, repository: 'app' }, image.digest), ERR_REGISTRY_PROTOCOL);
    assert.match(err.message, /another origin/);
  });
});
