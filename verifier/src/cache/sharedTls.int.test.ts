// The shared tier over TLS (`rediss://`, --redisCAFile): a redis-server of this test's own that serves
// TLS only (`--port 0 --tls-port`), with a CA and serving certificate made by the project's PKI code.
// Two real verifiers (testing/sharedReplicas.ts) share verdicts through it; a verifier given the wrong
// CA refuses the connection, says why in its log, and verifies everything itself (never a wrong answer).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createClusterCa, push, startRedisServer, type RunningRedis } from '@kna/e2e';
import type { RunningVerifier } from '../app.js';
import { podRequest, postCheckImages } from '../../testkit/localVerifier.js';
import { startReplicaFixture, type ReplicaFixture, type SignedImage } from '../../testkit/sharedReplicas.js';

const POLICY = 'tls';

let fixture: ReplicaFixture;
let redis: RunningRedis;
let images: SignedImage[] = [];
let unsigned: { registry: string; path: string; digest: string };
let caFile: string;
let wrongCaFile: string;

before(async () => {
  fixture = await startReplicaFixture({ policies: [POLICY] });
  const dir = fixture.harness.dir;
  const ca = await createClusterCa('kna-test-redis-ca');
  const serving = await ca.issueServing({ ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  caFile = join(dir, 'redis-ca.pem');
  wrongCaFile = join(dir, 'another-ca.pem');
  const tls = { caFile, certFile: join(dir, 'redis-tls.crt'), keyFile: join(dir, 'redis-tls.key') };
  writeFileSync(caFile, ca.certPem);
  writeFileSync(tls.certFile, serving.certPem);
  writeFileSync(tls.keyFile, serving.keyPem, { mode: 0o600 });
  writeFileSync(wrongCaFile, (await createClusterCa('kna-test-another-ca')).certPem);
  redis = await startRedisServer({ dir, tls });
  assert.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
  images = await fixture.signImages('tls', 3);
  const path = 'tls/unsigned';
  unsigned = { registry: fixture.harness.registry, path, digest: (await push(`${fixture.harness.registry}/${path}:v1`)).digest };
});

after(async () => {
  await (fixture as ReplicaFixture | undefined)?.stop();
  await (redis as RunningRedis | undefined)?.stop();
});

function ask(replica: RunningVerifier, image: { registry: string; path: string; digest: string }) {
  return postCheckImages(replica.url, podRequest({ app: { registry: image.registry, path: image.path, digest: image.digest } }, { trustPolicy: POLICY }), {
    timeoutMs: 150_000,
  });
}

/** A logger whose lines this test reads. */
function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('the shared tier over TLS (rediss://)', () => {
  it('two replicas share verdicts through a TLS-only Redis', async () => {
    const a = await fixture.startReplica(redis.url, { flags: [`--redisCAFile=${caFile}`] });
    for (const image of images) assert.equal((await ask(a, image)).status, 200);
    const runs = fixture.runs().length;
    assert.equal(runs, images.length);
    // The second replica's in-process cache is cold: each answer is the first one's verdict, read
    // through TLS (the server has no plain-text port).
    const b = await fixture.startReplica(redis.url, { flags: [`--redisCAFile=${caFile}`] });
    for (const image of images) {
      const res = await ask(b, image);
      assert.equal(res.status, 200, res.text);
    }
    assert.equal(fixture.runs().length, runs, 'the second replica ran notation although Redis (TLS) held every verdict');
  });

  it('with the wrong CA: no connection, the reason in the log, every image verified locally with the right answer', async () => {
    const { lines, logger } = capturedLogger();
    const c = await fixture.startReplica(redis.url, { flags: [`--redisCAFile=${wrongCaFile}`], logger, connects: false });
    const runs = fixture.runs().length;
    for (const image of images) {
      const res = await ask(c, image);
      assert.equal(res.status, 200, res.text);
    }
    const denied = await ask(c, unsigned);
    assert.equal(denied.status, 406, denied.text);
    // Redis held the signed images' verdicts; this replica could not read them and verified each itself.
    assert.equal(fixture.runs().length, runs + images.length + 1, 'every image verified locally');
    const warning = lines.find((l) => l.includes('cannot use Redis'));
    assert.ok(warning, `no log line says why Redis is not used:\n${lines.join('')}`);
    assert.match(warning, /TLS certificate is not trusted/);
    assert.match(warning, /--redisCAFile/);
    const metrics = await c.metrics.registry.metrics();
    assert.match(metrics, /^kna_redis_breaker_state\{state="open"\} 1$/m);
  });
});
