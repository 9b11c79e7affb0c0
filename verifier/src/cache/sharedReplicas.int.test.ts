// Two verifiers sharing the machine's Redis (127.0.0.1:6379), asked concurrently for the same 20 signed
// images: notation verify runs once per distinct (policy version, repository, digest), counted from the
// runs themselves by a wrapper around the real notation, not from the cache's metrics. Real notation,
// the AWS Signer plugin, olareg and the fake AWS Signer API. The keys this test makes name the harness's
// registry (a free port of this run) and are removed before and after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, chmodSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually, push, sign, startHarness, toolsEnv, type Harness } from '@kna/e2e';
import type { RunningVerifier } from '../app.js';
import { podRequest, postCheckImages, startLocalVerifier, writePolicyDir } from '../../testkit/localVerifier.js';

const REDIS_URL = process.env.KNA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const IMAGES = 20;

let harness: Harness;
let admin: Redis;
let replicas: RunningVerifier[] = [];
let runsFile: string;
const images: { path: string; tag: string; digest: string }[] = [];
const policy = `shared-${randomUUID().slice(0, 8)}`;

function realNotation(): string {
  for (const dir of toolsEnv().PATH.split(delimiter)) {
    const candidate = join(dir, 'notation');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('notation is not among the built tools');
}

async function removeTestKeys(): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `kna:v1:*${harness.registry}/*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

before(async () => {
  harness = await startHarness();
  admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  await removeTestKeys();

  // Every `notation verify` leaves a line with its arguments (the reference among them).
  runsFile = join(harness.dir, 'notation-runs');
  writeFileSync(runsFile, '');
  const wrapper = join(harness.dir, 'notation-counting');
  writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = verify ]; then echo "$*" >> '${runsFile}'; fi\nexec '${realNotation()}' "$@"\n`);
  chmodSync(wrapper, 0o755);

  const hmacKeyFile = join(harness.dir, 'cache-hmac-key');
  writeFileSync(hmacKeyFile, randomBytes(32).toString('base64'));
  const policyDir = writePolicyDir(harness, 'policies', { policies: [policy] });
  for (let i = 0; i < IMAGES; i++) {
    const tag = `v${i}`;
    const path = `shared/app${i}`;
    const { digest } = await push(`${harness.registry}/${path}:${tag}`);
    await sign(harness, `${harness.registry}/${path}@${digest}`);
    images.push({ path, tag, digest });
  }
  const flags = [
    `--notationPath=${wrapper}`,
    `--redisURL=${REDIS_URL}`,
    `--cacheHMACKeyFile=${hmacKeyFile}`,
    // Generous bounds for a loaded machine: the point is the count, not the latency.
    '--redisCommandTimeoutMilliseconds=5000',
    '--redisLockWaitMilliseconds=120000',
    '--verifyTimeoutSeconds=180',
    '--notationTimeoutSeconds=120',
  ];
  replicas = [await startLocalVerifier(harness, policyDir, { flags }), await startLocalVerifier(harness, policyDir, { flags })];
  await eventually(
    () => {
      for (const v of replicas) if (!v.store.current?.policies.has(policy)) throw new Error(`policy ${policy} not loaded`);
    },
    { timeoutMs: 60_000 },
  );
});

after(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  if ((admin as Redis | undefined) && (harness as Harness | undefined)) await removeTestKeys();
  (admin as Redis | undefined)?.disconnect();
  await (harness as Harness | undefined)?.stop();
});

describe('two verifier replicas sharing Redis', () => {
  it(`run notation once per distinct image for ${IMAGES} images asked of both, concurrently, three times`, async () => {
    const asks: Promise<{ status: number; text: string }>[] = [];
    for (let round = 0; round < 3; round++) {
      for (const image of images) {
        for (const replica of replicas) {
          asks.push(
            postCheckImages(replica.url, podRequest({ app: { registry: harness.registry, path: image.path, tag: image.tag } }, { trustPolicy: policy })),
          );
        }
      }
    }
    const answers = await Promise.all(asks);
    for (const a of answers) assert.equal(a.status, 200, a.text);

    const runs = readFileSync(runsFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const perImage = new Map<string, number>();
    for (const image of images) {
      const ref = `${harness.registry}/${image.path}@${image.digest}`;
      perImage.set(ref, runs.filter((line) => line.includes(ref)).length);
    }
    assert.deepEqual(
      [...perImage.entries()].filter(([, n]) => n !== 1),
      [],
      `notation runs per image: ${JSON.stringify([...perImage])}`,
    );
    assert.equal(runs.length, IMAGES);
  });

  it('a restarted replica (cold in-process cache) answers from Redis without running notation', async () => {
    const before = readFileSync(runsFile, 'utf8');
    for (const r of replicas) r.cache.clear();
    for (const image of images) {
      const res = await postCheckImages(
        replicas[0]!.url,
        podRequest({ app: { registry: harness.registry, path: image.path, digest: image.digest } }, { trustPolicy: policy }),
      );
      assert.equal(res.status, 200, res.text);
    }
    assert.equal(readFileSync(runsFile, 'utf8'), before, 'notation ran although Redis held every verdict');
    assert.ok(existsSync(runsFile));
  });
});
