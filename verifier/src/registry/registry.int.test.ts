// The registry client against the real registries of the signing harness: olareg (OCI referrers API) and
// Debian's docker-registry (CNCF distribution 2.8, referrers tag schema), with content pushed by the
// harness and signatures made by real notation + the AWS Signer plugin. Then the same registries with
// their real authentication switched on (olareg Basic and opaque-token auth, distribution htpasswd) and
// olareg's rate limiter, which answers 429 with Retry-After.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { answers, attach, push, sign, startHarness, startOnFreePort, toolPath, type Harness, type RunningProcess } from '@kna/e2e';
import { Outcome } from '@kna/shared/errors';
import { RegistryClient } from './client.js';
import { DockerConfig } from './credentials.js';
import { ERR_REGISTRY_CREDENTIALS_REJECTED, ERR_REGISTRY_NO_CREDENTIALS, ERR_REGISTRY_NOT_FOUND, ERR_REGISTRY_TOO_LARGE } from './errors.js';
import { MediaType } from './mediaTypes.js';
import type { RegistryOperation } from './transport.js';
import { rejectsWith } from '../../testkit/registry/assertions.js';

const SBOM = 'application/vnd.example.sbom.v1+json';
const SCAN = 'application/vnd.example.scan.v1+json';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.stop();
});

/** `host:port/repo` → the client's reference shape. */
function repoOf(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  return { registry: name.slice(0, slash), repository: name.slice(slash + 1) };
}

for (const kind of ['referrers API', 'referrers tag schema'] as const) {
  describe(`the client against the real registry with the ${kind}`, () => {
    const host = () => (kind === 'referrers API' ? harness.registry : harness.registryTagSchema);
    const newRepo = () => `${host()}/client/${randomUUID().slice(0, 8)}`;
    const client = new RegistryClient();

    it('resolves tags and digests of images and multi-architecture indexes', async () => {
      const name = newRepo();
      const image = await push(`${name}:v1`);
      const index = await push(`${name}:multi`, { index: true });
      const ref = repoOf(name);

      const byTag = await client.resolveDigest({ ...ref, tag: 'v1' });
      assert.deepEqual(byTag, { digest: image.digest, mediaType: MediaType.OciManifest, size: image.size });
      assert.deepEqual(await client.resolveDigest({ ...ref, digest: image.digest }), byTag);

      const multi = await client.resolveDigest({ ...ref, tag: 'multi' });
      assert.deepEqual(multi, { digest: index.digest, mediaType: MediaType.OciIndex, size: index.size });
      const fetched = await client.getManifest(ref, index.digest);
      assert.ok(fetched.manifest.kind === 'index');
      assert.deepEqual(
        fetched.manifest.manifests.map((m) => m.platform?.architecture),
        ['amd64', 'arm64'],
      );
      // Each platform manifest is itself readable and checked.
      for (const platform of fetched.manifest.manifests) {
        const m = await client.getManifest(ref, platform.digest);
        assert.equal(m.descriptor.size, platform.size);
      }
    });

    it('denies a tag or digest that does not exist', async () => {
      const name = newRepo();
      await push(`${name}:v1`);
      const ref = repoOf(name);
      const missingTag = await rejectsWith(client.resolveDigest({ ...ref, tag: 'nope' }), ERR_REGISTRY_NOT_FOUND);
      assert.equal((missingTag as Error & { outcome: string }).outcome, Outcome.Denied);
      await rejectsWith(client.resolveDigest({ ...ref, digest: `sha256:${'0'.repeat(64)}` }), ERR_REGISTRY_NOT_FOUND);
      await rejectsWith(client.getManifest(ref, `sha256:${'0'.repeat(64)}`), ERR_REGISTRY_NOT_FOUND);
      await rejectsWith(client.resolveDigest({ ...repoOf(newRepo()), tag: 'v1' }), ERR_REGISTRY_NOT_FOUND);
    });

    it('lists attestations and the notation signature as referrers, filters them, and reads their payloads', async () => {
      const name = newRepo();
      const image = await push(`${name}:v1`);
      const subject = `${name}@${image.digest}`;
      const sbomPayload = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }));
      const sbom = await attach(harness, subject, { artifactType: SBOM, payload: sbomPayload });
      const scan = await attach(harness, subject, { artifactType: SCAN, payload: Buffer.from('{"critical":0}'), gzip: true });
      await sign(harness, subject);
      const ref = repoOf(name);

      const all = await client.listReferrers(ref, image.digest);
      assert.equal(all.via, kind === 'referrers API' ? 'referrers-api' : 'referrers-tag-schema');
      const types = all.referrers.map((r) => r.artifactType).sort();
      assert.deepEqual(types, [SBOM, SCAN, MediaType.NotationSignature].sort());

      const onlySbom = await client.listReferrers(ref, image.digest, { artifactType: SBOM });
      assert.deepEqual(
        onlySbom.referrers.map((r) => r.digest),
        [sbom.descriptor.digest],
      );
      // olareg applies the filter and says so; the tag schema is always filtered by the client.
      assert.equal(onlySbom.filteredBy, kind === 'referrers API' ? 'registry' : 'client');

      const sbomManifest = await client.getManifest(ref, sbom.descriptor.digest);
      assert.ok(sbomManifest.manifest.kind === 'manifest');
      assert.equal(sbomManifest.manifest.subject?.digest, image.digest);
      const [layer] = sbomManifest.manifest.layers;
      assert.ok(layer);
      const payload = await client.getBlob(ref, layer.digest, { maxBytes: 1 << 20, expectedSize: layer.size });
      assert.deepEqual(payload, sbomPayload);
      await rejectsWith(client.getBlob(ref, layer.digest, { maxBytes: layer.size - 1 }), ERR_REGISTRY_TOO_LARGE);

      const scanManifest = await client.getManifest(ref, scan.descriptor.digest);
      assert.ok(scanManifest.manifest.kind === 'manifest');
      assert.equal(scanManifest.manifest.layers[0]?.mediaType, 'application/json+gzip');

      // The signature notation pushed: one JWS layer, as notation-go stores it.
      const [signature] = (await client.listReferrers(ref, image.digest, { artifactType: MediaType.NotationSignature })).referrers;
      assert.ok(signature);
      const sigManifest = await client.getManifest(ref, signature.digest);
      assert.ok(sigManifest.manifest.kind === 'manifest');
      assert.equal(sigManifest.manifest.config.mediaType, MediaType.NotationSignature);
      const [jws, ...more] = sigManifest.manifest.layers;
      assert.equal(more.length, 0);
      assert.ok(jws);
      assert.equal(jws.mediaType, 'application/jose+json');
      const envelope = await client.getBlob(ref, jws.digest, { maxBytes: 32 << 20 });
      assert.equal(typeof (JSON.parse(envelope.toString('utf8')) as { signature?: unknown }).signature, 'string');
    });

    it('answers an empty list for an image without referrers', async () => {
      const name = newRepo();
      const image = await push(`${name}:v1`);
      const list = await client.listReferrers(repoOf(name), image.digest);
      assert.deepEqual(list.referrers, []);
    });
  });
}

// ---- the same registries with authentication and rate limiting switched on ----

interface AuthRegistries {
  /** Repository seeded with one image, tag v1 (same content in every registry below). */
  readonly repository: string;
  readonly digest: string;
  readonly olaregBasic: string;
  readonly olaregToken: string;
  readonly olaregLimited: string;
  readonly distributionHtpasswd: string;
  /** The image pushed to the distribution storage (another random image). */
  readonly distributionDigest: string;
}

const USER = 'robot';
const PASSWORD = `pw-${randomUUID()}`;

describe('the client against real registries that require authentication', () => {
  const processes: RunningProcess[] = [];
  let regs: AuthRegistries;

  before(async () => {
    const dir = join(harness.dir, 'auth-registries');
    mkdirSync(dir, { recursive: true });
    const olareg = toolPath('olareg');
    const distribution = toolPath('docker-registry');
    const started = async (name: string, args: (port: number) => string[], command = olareg): Promise<string> => {
      const proc = await startOnFreePort((port) => ({
        name,
        command,
        args: args(port),
        logFile: join(dir, `${name}.log`),
        ready: () => answers(`http://127.0.0.1:${port}/v2/`),
      }));
      processes.push(proc);
      return `localhost:${proc.port}`;
    };

    // Seed an olareg directory store through an unauthenticated olareg, then serve it read-only three ways.
    const store = join(dir, 'olareg-store');
    mkdirSync(store);
    const seed = await started('olareg-seed', (port) => ['serve', '--addr', '127.0.0.1', '--port', String(port), '--dir', store]);
    const repository = 'private/app';
    const image = await push(`${seed}/${repository}:v1`);
    await processes.pop()?.stop();

    const hash = execFileSync(olareg, ['hash', '--pass', PASSWORD], { encoding: 'utf8' }).trim();
    const authFile = join(dir, 'olareg-auth.yaml');
    writeFileSync(
      authFile,
      [`users:`, `  ${USER}:`, `    cred: "${hash}"`, `acls:`, `  - repo: "*"`, `    members: ["${USER}"]`, `    access: ["read"]`, ''].join('\n'),
    );
    const olaregWith = (name: string, extra: string[]) =>
      started(name, (port) => ['serve', '--addr', '127.0.0.1', '--port', String(port), '--dir', store, '--store-ro', ...extra]);

    // distribution: an open instance to push through and an htpasswd one on the same storage.
    const storage = join(dir, 'distribution');
    mkdirSync(storage);
    writeFileSync(join(dir, 'htpasswd'), `${USER}:${hash}\n`);
    const distributionWith = (name: string, auth: string) =>
      started(
        name,
        (port) => {
          const config = join(dir, `${name}.yml`);
          writeFileSync(
            config,
            [
              'version: 0.1',
              'log: {level: warn}',
              `storage: {filesystem: {rootdirectory: ${storage}}}`,
              `http: {addr: 127.0.0.1:${port}, secret: kna}`,
              auth,
              '',
            ].join('\n'),
          );
          return ['serve', config];
        },
        distribution,
      );
    const [olaregBasic, olaregToken, olaregLimited, distributionOpen, distributionHtpasswd] = await Promise.all([
      olaregWith('olareg-basic', ['--auth-basic', authFile]),
      olaregWith('olareg-token', ['--auth-token-opaque', authFile]),
      olaregWith('olareg-limited', ['--rate-limit', '2']),
      distributionWith('distribution-open', ''),
      distributionWith('distribution-htpasswd', `auth: {htpasswd: {realm: kna-test, path: ${join(dir, 'htpasswd')}}}`),
    ]);
    const pushed = await push(`${distributionOpen}/${repository}:v1`);
    regs = { repository, digest: image.digest, olaregBasic, olaregToken, olaregLimited, distributionHtpasswd, distributionDigest: pushed.digest };
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });

  const secret = (registries: string[], password = PASSWORD) =>
    DockerConfig.parse(
      JSON.stringify({
        auths: Object.fromEntries(registries.map((r) => [`http://${r}/v2/`, { auth: Buffer.from(`${USER}:${password}`).toString('base64') }])),
      }),
    ).provider();

  it('olareg Basic auth: refused without credentials, accepted from a dockerconfigjson pull secret, refused with a wrong password', async () => {
    const ref = { registry: regs.olaregBasic, repository: regs.repository };
    await rejectsWith(new RegistryClient().resolveDigest({ ...ref, tag: 'v1' }), ERR_REGISTRY_NO_CREDENTIALS);
    const client = new RegistryClient({ credentials: secret([regs.olaregBasic]) });
    assert.equal((await client.resolveDigest({ ...ref, tag: 'v1' })).digest, regs.digest);
    const manifest = await client.getManifest(ref, regs.digest);
    assert.ok(manifest.manifest.kind === 'manifest');
    const config = manifest.manifest.config;
    assert.equal((await client.getBlob(ref, config.digest, { maxBytes: 1 << 20, expectedSize: config.size })).length, config.size);
    const wrong = await rejectsWith(
      new RegistryClient({ credentials: secret([regs.olaregBasic], 'not-the-password') }).resolveDigest({ ...ref, tag: 'v1' }),
      ERR_REGISTRY_CREDENTIALS_REJECTED,
    );
    assert.doesNotMatch(wrong.message, /not-the-password/);
  });

  it("olareg bearer tokens: the challenge's relative realm, one token for many requests", async () => {
    const ref = { registry: regs.olaregToken, repository: regs.repository };
    const calls: { operation: RegistryOperation; status: number }[] = [];
    const client = new RegistryClient({
      credentials: secret([regs.olaregToken]),
      observer: { onResponse: (_host, operation, status) => calls.push({ operation, status }) },
    });
    assert.equal((await client.resolveDigest({ ...ref, tag: 'v1' })).digest, regs.digest);
    const manifest = await client.getManifest(ref, regs.digest);
    assert.ok(manifest.manifest.kind === 'manifest');
    await client.getBlob(ref, manifest.manifest.config.digest, { maxBytes: 1 << 20 });
    await client.listReferrers(ref, regs.digest);
    assert.deepEqual(
      calls.filter((c) => c.operation === 'token'),
      [{ operation: 'token', status: 200 }],
      'one token serves every request',
    );
    assert.equal(calls.filter((c) => c.status === 401).length, 1, 'only the first request is challenged');
    // olareg issues anonymous tokens too, but its ACL gives them no access.
    await rejectsWith(new RegistryClient().resolveDigest({ ...ref, tag: 'v1' }), ERR_REGISTRY_NO_CREDENTIALS);
    await rejectsWith(
      new RegistryClient({ credentials: secret([regs.olaregToken], 'wrong') }).resolveDigest({ ...ref, tag: 'v1' }),
      ERR_REGISTRY_CREDENTIALS_REJECTED,
    );
  });

  it('distribution htpasswd (bcrypt) Basic auth', async () => {
    const ref = { registry: regs.distributionHtpasswd, repository: regs.repository };
    await rejectsWith(new RegistryClient().resolveDigest({ ...ref, tag: 'v1' }), ERR_REGISTRY_NO_CREDENTIALS);
    const client = new RegistryClient({ credentials: secret([regs.distributionHtpasswd]) });
    assert.equal((await client.resolveDigest({ ...ref, tag: 'v1' })).digest, regs.distributionDigest);
    assert.equal((await client.listReferrers(ref, regs.distributionDigest)).via, 'referrers-tag-schema');
  });

  it("olareg's rate limiter: 429 with Retry-After is waited out", async () => {
    const ref = { registry: regs.olaregLimited, repository: regs.repository };
    const statuses: number[] = [];
    const client = new RegistryClient({ observer: { onResponse: (_h, _o, status) => statuses.push(status) } });
    // Five requests at once against a limit of two per second: some are throttled, all succeed.
    const results = await Promise.all(Array.from({ length: 5 }, () => client.resolveDigest({ ...ref, tag: 'v1' })));
    assert.ok(results.every((r) => r.digest === regs.digest));
    assert.ok(statuses.includes(429), `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 200).length, 5);
    // With a deadline too close for olareg's "Retry-After: 1", the client gives up at once instead.
    // Twenty at once: even when a loaded machine spreads them out, more than two land in one second.
    const hurried = new RegistryClient();
    const burst = await Promise.allSettled(Array.from({ length: 20 }, () => hurried.resolveDigest({ ...ref, tag: 'v1' }, { deadline: Date.now() + 500 })));
    const refused = burst.filter((r) => r.status === 'rejected').map((r) => (r.reason as { code: string }).code);
    assert.ok(refused.length > 0 && refused.every((code) => code === 'KNA_ERR_REGISTRY_RATE_LIMITED'), refused.join(','));
  });
});
