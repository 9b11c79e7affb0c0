// Two verifiers sharing the machine's Redis (127.0.0.1:6379), asked concurrently for the same 20 signed
// images: notation verify runs once per distinct (policy version, repository, digest), counted from the
// runs themselves by a wrapper around the real notation, not from the cache's metrics. Real notation,
// the AWS Signer plugin, olareg and the fake AWS Signer API (verifier/testkit/sharedReplicas.ts). The keys this
// test makes name the harness's registry (a free port of this run) and are removed before and after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RunningVerifier } from '../app.js';
import { podRequest, postCheckImages } from '../../testkit/localVerifier.js';
import { startReplicaFixture, type ReplicaFixture, type SignedImage } from '../../testkit/sharedReplicas.js';

const REDIS_URL = process.env.KNA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const IMAGES = 20;

let fixture: ReplicaFixture;
let admin: Redis;
let replicas: RunningVerifier[] = [];
let images: SignedImage[] = [];
const policy = `shared-${randomUUID().slice(0, 8)}`;

before(async () => {
  fixture = await startReplicaFixture({ policies: [policy] });
  admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  await fixture.removeKeys(admin);
  images = await fixture.signImages('shared', IMAGES);
  replicas = [await fixture.startReplica(REDIS_URL), await fixture.startReplica(REDIS_URL)];
});

after(async () => {
  if ((admin as Redis | undefined) && (fixture as ReplicaFixture | undefined)) await fixture.removeKeys(admin);
  (admin as Redis | undefined)?.disconnect();
  await (fixture as ReplicaFixture | undefined)?.stop();
});

describe('two verifier replicas sharing Redis', () => {
  it(`run notation once per distinct image for ${IMAGES} images asked of both, concurrently, three times`, async () => {
    const asks: Promise<{ status: number; text: string }>[] = [];
    for (let round = 0; round < 3; round++) {
      for (const image of images) {
        for (const replica of replicas) {
          asks.push(postCheckImages(replica.url, podRequest({ app: { registry: image.registry, path: image.path, tag: image.tag } }, { trustPolicy: policy })));
        }
      }
    }
    const answers = await Promise.all(asks);
    for (const a of answers) assert.equal(a.status, 200, a.text);

    const perImage = images.map((image) => [image.reference, fixture.runsOf(image.reference)] as const);
    assert.deepEqual(
      perImage.filter(([, n]) => n !== 1),
      [],
      `notation runs per image: ${JSON.stringify(perImage)}`,
    );
    assert.equal(fixture.runs().length, IMAGES);
  });

  it('a restarted replica (cold in-process cache) answers from Redis without running notation', async () => {
    const before = fixture.runs().length;
    for (const r of replicas) r.cache.clear();
    for (const image of images) {
      const res = await postCheckImages(
        replicas[0]!.url,
        podRequest({ app: { registry: image.registry, path: image.path, digest: image.digest } }, { trustPolicy: policy }),
      );
      assert.equal(res.status, 200, res.text);
    }
    assert.equal(fixture.runs().length, before, 'notation ran although Redis held every verdict');
  });
});
