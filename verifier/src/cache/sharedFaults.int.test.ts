// Two real verifiers (notation, the AWS Signer plugin, olareg; testing/sharedReplicas.ts) sharing a
// redis-server this test starts on a free port of its own, asked over HTTP while that Redis is killed
// and started again, paused with SIGSTOP and resumed, and while a trust policy changes:
// - every answer is the right one (200 for a signed image, 406 for an unsigned one), never a 5xx, and
//   every request completes (a generous deadline, no timing assertion);
// - the breaker shows the outage on /metrics; once Redis is back, answers come from it again, which the
//   notation runs prove (counted by a wrapper around the real notation, not by the cache's metrics);
// - a new policy version never uses the old verdicts, and its own are computed once across both replicas.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { push, startRedisServer, trustPolicyManifest, type RunningRedis } from '@kna/e2e';
import type { RunningVerifier } from '../app.js';
import { podRequest, postCheckImages, type CheckResponse } from '../../testkit/localVerifier.js';
import { startReplicaFixture, type ReplicaFixture, type SignedImage } from '../../testkit/sharedReplicas.js';

const CHANGING = 'faults-changing';
const STEADY = 'faults-steady';
/** A request that has not completed after this long counts as failed: a bound for a loaded machine. */
const REQUEST_DEADLINE_MS = 150_000;

let fixture: ReplicaFixture;
let redis: RunningRedis;
let signed: SignedImage[] = [];
let unsigned: { registry: string; path: string; digest: string; reference: string };

before(async () => {
  fixture = await startReplicaFixture({ policies: [CHANGING, STEADY] });
  redis = await startRedisServer({ dir: fixture.harness.dir });
  signed = await fixture.signImages('faults', 3);
  const path = 'faults/unsigned';
  const { digest } = await push(`${fixture.harness.registry}/${path}:v1`);
  unsigned = { registry: fixture.harness.registry, path, digest, reference: `${fixture.harness.registry}/${path}@${digest}` };
});

after(async () => {
  await (fixture as ReplicaFixture | undefined)?.stop();
  await (redis as RunningRedis | undefined)?.stop();
});

/** Asks about one image, pinned by digest (no tag resolution: the answer is notation's or a cache's). */
function ask(replica: RunningVerifier, image: { registry: string; path: string; digest: string }, trustPolicy = CHANGING): Promise<CheckResponse> {
  return postCheckImages(replica.url, podRequest({ app: { registry: image.registry, path: image.path, digest: image.digest } }, { trustPolicy }), {
    timeoutMs: REQUEST_DEADLINE_MS,
  });
}

async function metrics(replica: RunningVerifier): Promise<string> {
  assert.ok(replica.metricsUrl, 'the replica serves /metrics');
  const res = await fetch(`${replica.metricsUrl}/metrics`);
  return res.text();
}

function breakerState(text: string): string | undefined {
  return /^kna_redis_breaker_state\{state="([a-z-]+)"\} 1$/m.exec(text)?.[1];
}

/** Redis lookups that found a verdict, from /metrics. */
function l2Hits(text: string): number {
  return Number(/^kna_cache_lookups_total\{tier="l2",result="hit"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Load on both replicas until stopped: each worker asks about the signed and the unsigned images in turn,
 * alternating replicas, and checks every answer.
 */
function traffic(replicas: readonly RunningVerifier[]) {
  const problems: string[] = [];
  let answered = 0;
  let running = true;
  const images = [...signed.map((image) => ({ image, expect: 200 })), { image: unsigned, expect: 406 }];
  const worker = async (w: number) => {
    for (let n = w; running; n++) {
      const { image, expect } = images[n % images.length]!;
      const replica = replicas[n % replicas.length]!;
      try {
        const res = await ask(replica, image);
        if (res.status !== expect) problems.push(`${image.reference}: ${res.status} (expected ${expect}): ${res.text.slice(0, 300)}`);
      } catch (err) {
        problems.push(`${image.reference}: no answer: ${err instanceof Error ? err.message : String(err)}`);
      }
      answered++;
    }
  };
  const workers = Array.from({ length: 4 }, (_, w) => worker(w));
  return {
    problems,
    get answered() {
      return answered;
    },
    /** Waits until `n` more answers have come back. */
    async more(n: number, why: string) {
      const target = answered + n;
      await until(`${n} answers ${why}`, () => answered >= target || problems.length > 0);
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/**
 * Asks until the replica's breaker is closed again: only a request that misses the in-process cache (of
 * one entry) probes a recovered Redis, so the images take turns.
 */
async function untilBreakerCloses(replica: RunningVerifier): Promise<void> {
  let n = 0;
  await until('the breaker to close', async () => {
    const res = await ask(replica, signed[n++ % signed.length]!);
    assert.equal(res.status, 200, res.text);
    return breakerState(await metrics(replica)) === 'closed';
  });
}

/** Every image asked of both replicas: the notation runs this took. */
async function askAll(replicas: readonly RunningVerifier[]): Promise<number> {
  const before = fixture.runs().length;
  const answers = await Promise.all(replicas.flatMap((r) => [...signed.map((image) => ask(r, image)), ask(r, unsigned)]));
  answers.forEach((res, i) => assert.equal(res.status, i % (signed.length + 1) === signed.length ? 406 : 200, res.text));
  return fixture.runs().length - before;
}

describe('two verifiers sharing a Redis that fails', () => {
  // An in-process cache of one entry: nearly every request goes to Redis, which is what these tests are about.
  const flags = [
    '--metrics-bind-address=127.0.0.1:0',
    '--cacheMaxSize=1',
    '--negativeCacheTTLSeconds=3600',
    '--redisCommandTimeoutMilliseconds=1000',
    '--redisBreakerOpenMilliseconds=1000',
  ];
  let replicas: RunningVerifier[] = [];

  before(async () => {
    replicas = [await fixture.startReplica(redis.url, { flags }), await fixture.startReplica(redis.url, { flags })];
  });

  it('Redis killed mid-traffic: every answer right, no 5xx, the breaker on /metrics; started again: answers from Redis resume', async () => {
    const load = traffic(replicas);
    try {
      await load.more(12, 'with Redis up');
      await until(
        'answers from Redis on both replicas',
        async () => (await Promise.all(replicas.map(metrics))).every((m) => l2Hits(m) > 0) || load.problems.length > 0,
      );
      await redis.kill();
      await load.more(12, 'with Redis killed');
      for (const r of replicas) {
        const text = await metrics(r);
        assert.equal(breakerState(text), 'open', `breaker state while Redis is down:\n${text}`);
        assert.match(text, /^kna_redis_errors_total\{operation="connect"\} [1-9]/m);
      }
      await redis.restart();
      await load.more(12, 'after the restart');
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.problems, []);
    for (const r of replicas) await untilBreakerCloses(r);
    // The restarted Redis is empty (no persistence): one round fills it, the next is answered from it.
    await askAll(replicas);
    assert.equal(await askAll(replicas), 0, 'notation ran although the restarted Redis held every verdict');
  });

  it('Redis paused with SIGSTOP mid-traffic: every request completes with the right answer; resumed: answers from Redis resume', async () => {
    await askAll(replicas); // Redis holds every verdict before the pause
    const load = traffic(replicas);
    try {
      await load.more(12, 'with Redis up');
      redis.pause();
      await load.more(16, 'with Redis paused');
      for (const r of replicas) assert.notEqual(breakerState(await metrics(r)), 'closed', 'the breaker opened during the pause');
    } finally {
      redis.resume();
      await load.stop();
    }
    assert.deepEqual(load.problems, []);
    for (const r of replicas) await untilBreakerCloses(r);
    assert.equal(await askAll(replicas), 0, 'notation ran although Redis held every verdict');
  });
});

describe('two verifiers sharing Redis when a trust policy changes', () => {
  let replicas: RunningVerifier[] = [];
  let images: SignedImage[] = [];
  const versionOf = (r: RunningVerifier, policy: string) => r.store.current?.policies.get(policy)?.version;

  before(async () => {
    // Images of its own: the fault tests above ran notation for theirs many times.
    images = await fixture.signImages('policy', 3);
    replicas = [
      await fixture.startReplica(redis.url, { flags: ['--negativeCacheTTLSeconds=3600'] }),
      await fixture.startReplica(redis.url, { flags: ['--negativeCacheTTLSeconds=3600'] }),
    ];
  });

  it('an image admitted under the old version is denied by both replicas under the new one, verified once across both; the other policy stays in Redis', async () => {
    const both = (policy: string) => Promise.all([0, 1].flatMap(() => replicas.flatMap((r) => images.map((image) => ask(r, image, policy)))));
    for (const res of [...(await both(CHANGING)), ...(await both(STEADY))]) assert.equal(res.status, 200, res.text);
    const old = versionOf(replicas[0]!, CHANGING)!;
    const steady = versionOf(replicas[0]!, STEADY)!;

    // The new version trusts another signing profile: the harness's signatures no longer pass.
    const otherProfile = fixture.harness.profileArn.replace(/[^/]+$/, 'AnotherProfile');
    writeFileSync(join(fixture.policyDir, `${CHANGING}.yaml`), trustPolicyManifest(CHANGING, { scopes: ['*'], identities: [otherProfile] }));
    await until('both replicas to load the new policy version', () =>
      replicas.every((r) => versionOf(r, CHANGING) !== old && versionOf(r, CHANGING) === versionOf(replicas[0]!, CHANGING)),
    );
    const changed = versionOf(replicas[0]!, CHANGING)!;
    assert.equal(versionOf(replicas[0]!, STEADY), steady, 'the other policy keeps its version');

    for (const res of await both(CHANGING)) assert.equal(res.status, 406, `admitted under the new policy version: ${res.text}`);
    for (const image of images) {
      assert.equal(fixture.runsOf(image.reference, old), 1, `${image.reference}: one run across both replicas under the old version`);
      assert.equal(fixture.runsOf(image.reference, steady), 1, `${image.reference}: one run across both replicas under the other policy`);
      assert.equal(fixture.runsOf(image.reference, changed), 1, `${image.reference}: one run across both replicas under the new version`);
    }

    // The unchanged policy's verdicts are still in Redis: replicas with a cold in-process cache answer from it.
    for (const r of replicas) r.cache.clear();
    const runs = fixture.runs().length;
    for (const res of await both(STEADY)) assert.equal(res.status, 200, res.text);
    assert.equal(fixture.runs().length, runs, 'the unchanged policy re-verified');
  });
});
