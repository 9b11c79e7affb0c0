// The Redis tier against a real Redis: the machine's (127.0.0.1:6379, under a key prefix of this test's
// own, removed afterwards) for behaviour, and a redis-server this test starts on a free port for faults
// (stopped, paused with SIGSTOP, restarted) during a load run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RunningRedis } from '@kna/e2e';
import { SharedVerdictTier, sealValue, type BreakerState, type LockResult, type SharedTierObserver } from './shared.js';
import { VerdictCache, imageKey, type CacheSource, type Verdict } from './verdicts.js';
import { sharedTierFromFlags } from '../app.js';
import { parseFlags } from '../config/flags.js';

const MACHINE_REDIS = process.env.KNA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const HMAC_KEY = randomBytes(32);

class CountingObserver implements SharedTierObserver {
  readonly counts = new Map<string, number>();
  #inc(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  lookup(tier: 'l1' | 'l2', result: 'hit' | 'miss'): void {
    this.#inc(`${tier}-${result}`);
  }
  lock(result: LockResult): void {
    this.#inc(`lock-${result}`);
  }
  macRejected(): void {
    this.#inc('mac-rejected');
  }
  redisError(operation: string): void {
    this.#inc(`error-${operation}`);
  }
  breakerState(state: BreakerState): void {
    this.#inc(`breaker-${state}`);
  }
}

const silentLog = { warn() {}, info() {} };

/** A computation that must not run (the answer has to come from a cache tier). */
function failIfComputed(why: string): () => Promise<Verdict> {
  return () => Promise.reject(new assert.AssertionError({ message: why }));
}

function verdict(outcome: Verdict['outcome'], digest = 'sha256:d'): Verdict {
  return { outcome, digest, reason: outcome, kind: 'none', warnings: [], verifiedAt: new Date().toISOString() };
}

interface Replica {
  readonly cache: VerdictCache;
  readonly tier: SharedVerdictTier;
  readonly observer: CountingObserver;
}

async function replica(
  url: string,
  prefix: string,
  options: { hmacKey?: Buffer; maxEntries?: number; commandTimeoutMs?: number; breakerOpenMs?: number } = {},
): Promise<Replica> {
  const observer = new CountingObserver();
  const tier = await SharedVerdictTier.open({
    url,
    hmacKey: options.hmacKey ?? HMAC_KEY,
    // Generous: the machine is shared and loaded; the fault test below sets its own.
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    breakerOpenMs: options.breakerOpenMs ?? 200,
    lockWaitMs: 30_000,
    lockTtlMs: 60_000,
    keyPrefix: prefix,
    observer,
    log: silentLog,
  });
  const cache = new VerdictCache({ enabled: true, maxEntries: options.maxEntries ?? 1000, ttlSeconds: 600, negativeTtlSeconds: 30, shared: tier, observer });
  return { cache, tier, observer };
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function removePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

const at = (i: number) => ({ registry: 'registry.test:5000', repository: `team/app${i}` });
const digestOf = (i: number) => `sha256:${String(i).padStart(64, '0')}`;

describe('shared verdict tier on the machine Redis', () => {
  const prefix = `kna-test-${randomBytes(6).toString('hex')}:`;
  let admin: Redis;
  const replicas: Replica[] = [];
  const make = async (options?: Parameters<typeof replica>[2]) => {
    const r = await replica(MACHINE_REDIS, prefix, options);
    replicas.push(r);
    await waitFor('the connection to Redis', () => r.tier.connected);
    return r;
  };

  before(async () => {
    admin = new Redis(MACHINE_REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
  });
  after(async () => {
    await removePrefix(admin, prefix);
    await Promise.all(replicas.map((r) => r.cache.close()));
    admin.disconnect();
  });

  it('two replicas under concurrent load compute each of 20 keys once', async () => {
    const a = await make();
    const b = await make();
    const runs = new Map<string, number>();
    const compute = (key: string, i: number) => async () => {
      runs.set(key, (runs.get(key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 30));
      return verdict('verified', digestOf(i));
    };
    const asks: Promise<{ verdict: Verdict; source: CacheSource }>[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) {
        const key = imageKey('pv1', at(i), digestOf(i));
        for (const r of [a, b]) asks.push(r.cache.getOrCompute(key, compute(key, i)));
      }
    }
    const answers = await Promise.all(asks);
    assert.equal(runs.size, 20);
    for (const [key, count] of runs) assert.equal(count, 1, `${key} computed ${count} times`);
    assert.ok(answers.every((x) => x.verdict.outcome === 'verified'));
    // The replica that lost each race got the other's verdict from Redis.
    assert.equal(a.observer.get('lock-won') + b.observer.get('lock-won'), 20);
    assert.equal(a.observer.get('lock-waited') + b.observer.get('lock-waited') + a.observer.get('l2-hit') + b.observer.get('l2-hit'), 20);

    // A third replica with a cold L1 (a restart) answers from Redis without computing.
    const c = await make();
    for (let i = 0; i < 20; i++) {
      const got = await c.cache.getOrCompute(imageKey('pv1', at(i), digestOf(i)), failIfComputed('computed despite L2'));
      assert.equal(got.source, 'l2');
      assert.equal(got.verdict.digest, digestOf(i));
    }
  });

  it('a new policy version re-verifies only its own images', async () => {
    const r = await make();
    const seed = await make();
    for (const pv of ['policy-a-1', 'policy-b-1']) {
      for (let i = 0; i < 3; i++) await seed.cache.getOrCompute(imageKey(pv, at(i), digestOf(i)), () => Promise.resolve(verdict('verified', digestOf(i))));
    }
    let computed = 0;
    for (let i = 0; i < 3; i++) {
      const b = await r.cache.getOrCompute(imageKey('policy-b-1', at(i), digestOf(i)), failIfComputed('policy b is unchanged'));
      assert.equal(b.source, 'l2');
      const a2 = await r.cache.getOrCompute(imageKey('policy-a-2', at(i), digestOf(i)), () => {
        computed++;
        return Promise.resolve(verdict('denied', digestOf(i)));
      });
      assert.equal(a2.source, 'computed');
      assert.equal(a2.verdict.outcome, 'denied');
    }
    assert.equal(computed, 3);
  });

  it("rejects forged entries: no MAC, wrong MAC, another key's MAC, a MAC made for another cache key", async () => {
    const r = await make();
    const key = (n: string) => imageKey('pv-forge', at(0), `sha256:${n.padStart(64, 'f')}`);
    const payload = JSON.stringify({ ...verdict('verified'), expiresAt: Date.now() + 600_000 });
    const forgeries: Record<string, [string, string]> = {
      'no MAC': [key('1'), payload],
      'wrong MAC': [key('2'), `${'0'.repeat(64)}.${payload}`],
      'MAC from another HMAC key': [key('3'), sealValue(randomBytes(32), key('3'), payload)],
      'MAC of another cache key': [key('4'), sealValue(HMAC_KEY, key('other'), payload)],
      'payload changed after sealing': [key('5'), sealValue(HMAC_KEY, key('5'), payload).replace('"verified"', '"skipped"')],
    };
    for (const [name, [k, value]] of Object.entries(forgeries)) {
      await admin.set(`${prefix}${k}`, value, 'PX', 600_000);
      const before = r.observer.get('mac-rejected');
      const got = await r.cache.getOrCompute(k, () => Promise.resolve(verdict('denied')));
      assert.equal(got.verdict.outcome, 'denied', `${name}: the forged verdict was used`);
      assert.equal(got.source, 'computed', name);
      // Counted at the lookup and again at the re-read after taking the lock.
      assert.ok(r.observer.get('mac-rejected') > before, `${name}: not counted`);
    }
    // The genuine article passes.
    await admin.set(`${prefix}${key('6')}`, sealValue(HMAC_KEY, key('6'), payload), 'PX', 600_000);
    assert.equal((await r.cache.getOrCompute(key('6'), failIfComputed('a sealed entry is a hit'))).source, 'l2');
  });

  it('stores denials for the negative TTL, successes for the TTL less jitter, never could-not-verify', async () => {
    const r = await make();
    const k = (n: number) => imageKey('pv-ttl', at(n), digestOf(n));
    await r.cache.getOrCompute(k(1), () => Promise.resolve(verdict('verified')));
    await r.cache.getOrCompute(k(2), () => Promise.resolve(verdict('denied')));
    await r.cache.getOrCompute(k(3), () => Promise.resolve(verdict('could-not-verify')));
    const ttl1 = await admin.pttl(`${prefix}${k(1)}`);
    assert.ok(ttl1 > 600_000 * 0.85 && ttl1 <= 600_000, `success PTTL ${ttl1}`);
    const ttl2 = await admin.pttl(`${prefix}${k(2)}`);
    assert.ok(ttl2 > 0 && ttl2 <= 30_000, `denial PTTL ${ttl2}`);
    assert.equal(await admin.exists(`${prefix}${k(3)}`), 0);
    assert.equal(await admin.exists(`${prefix}${k(1)}:lock`), 0, 'the lock is released');
    const stored = JSON.parse((await admin.get(`${prefix}${k(1)}`))!.slice(65)) as Record<string, unknown>;
    for (const field of ['outcome', 'digest', 'reason', 'verifiedAt', 'expiresAt']) assert.ok(field in stored, field);
  });

  it('a reply that arrived while this process was busy is read, not taken for a timeout', async () => {
    const r = await make({ commandTimeoutMs: 100 });
    const key = imageKey('pv-busy', at(0), digestOf(0));
    await r.cache.getOrCompute(key, () => Promise.resolve(verdict('verified')));
    const pending = r.tier.get(key);
    // Busy far beyond the command timeout (a loaded node, a long request): Redis answers meanwhile, and
    // the timer is overdue by the time the event loop runs again.
    const busyUntil = Date.now() + 2000;
    while (Date.now() < busyUntil) {
      // spin
    }
    assert.ok(await pending, 'the stored verdict was read');
    assert.equal(r.tier.breaker, 'closed');
    assert.equal(r.observer.get('error-get'), 0);
  });

  it('refuses --redisURL without an HMAC key, or with a short one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kna-redis-flags-'));
    try {
      const flags = (...args: string[]) => parseFlags(['--redisURL', MACHINE_REDIS, ...args]).flags;
      await assert.rejects(sharedTierFromFlags(flags(), silentLog), /--redisURL needs --cacheHMACKeyFile/);
      writeFileSync(join(dir, 'short'), 'secret\n');
      await assert.rejects(sharedTierFromFlags(flags('--cacheHMACKeyFile', join(dir, 'short')), silentLog), /at least 32/);
      await assert.rejects(sharedTierFromFlags(flags('--cacheHMACKeyFile', join(dir, 'missing')), silentLog), /--cacheHMACKeyFile: cannot read/);
      await assert.rejects(sharedTierFromFlags(parseFlags(['--redisURL', 'http://x']).flags, silentLog), /redis:\/\/ or rediss:\/\//);
      assert.equal(await sharedTierFromFlags(parseFlags([]).flags, silentLog), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shared verdict tier when Redis fails', () => {
  let dir: string;
  let server: RunningRedis;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kna-redis-fault-'));
    server = await startRedisServer({ dir });
  });
  after(async () => {
    await (server as RunningRedis | undefined)?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stopped, paused and restarted during load: no request fails, hits resume', async () => {
    // L1 of one entry: nearly every ask goes to Redis, which is what this test is about.
    const r = await replica(server.url, 'kna-fault:', { maxEntries: 1, commandTimeoutMs: 200, breakerOpenMs: 100 });
    await waitFor('the connection to Redis', () => r.tier.connected);
    const failures: unknown[] = [];
    const sources: { phase: string; source: CacheSource }[] = [];
    let phase = 'healthy';
    let running = true;
    const worker = async (w: number) => {
      for (let n = 0; running; n++) {
        const i = (n * 7 + w) % 10;
        try {
          const got = await r.cache.getOrCompute(imageKey('pv', at(i), digestOf(i)), () => Promise.resolve(verdict('verified', digestOf(i))));
          if (got.verdict.outcome !== 'verified' || got.verdict.digest !== digestOf(i)) failures.push(got);
          sources.push({ phase, source: got.source });
        } catch (err) {
          failures.push(err);
        }
        await new Promise((res) => setImmediate(res));
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    const hitsIn = (p: string) => sources.filter((s) => s.phase === p && s.source === 'l2').length;
    try {
      await waitFor('L2 hits while healthy', () => hitsIn('healthy') >= 20);

      phase = 'stopped';
      await server.kill();
      await waitFor('the replica to notice', () => !r.tier.connected || r.tier.breaker !== 'closed');
      const answeredWhileStopped = sources.length;
      await waitFor('answers while Redis is down', () => sources.length >= answeredWhileStopped + 50);

      phase = 'restarted';
      await server.restart();
      await waitFor('L2 hits after the restart', () => hitsIn('restarted') >= 20);

      phase = 'paused';
      server.pause();
      await waitFor('the breaker to open during the pause', () => r.tier.breaker !== 'closed');
      const answeredWhilePaused = sources.length;
      await waitFor('answers while Redis is paused', () => sources.length >= answeredWhilePaused + 50);

      phase = 'resumed';
      server.resume();
      await waitFor('L2 hits after the pause', () => hitsIn('resumed') >= 20);
    } finally {
      running = false;
      await Promise.all(workers);
      await r.cache.close();
    }
    assert.deepEqual(failures, []);
    assert.ok(r.observer.get('breaker-open') >= 2, 'the breaker opened for the stop and for the pause');
    // At the first connection, then after each recovery.
    assert.ok(r.observer.get('breaker-closed') >= 3, 'and closed again after each');
    assert.equal(r.tier.breaker, 'closed');
  });

  it('releases its lock although the breaker opened while it verified (no replica waits for a verdict that is not coming)', async () => {
    const prefix = 'kna-release:';
    const r = await replica(server.url, prefix, { commandTimeoutMs: 2000, breakerOpenMs: 600_000 });
    const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const key = imageKey('pv-release', at(0), digestOf(0));
    try {
      await waitFor('the connection to Redis', () => r.tier.connected);
      const got = await r.cache.getOrCompute(key, async () => {
        assert.equal(await admin.exists(`${prefix}${key}:lock`), 1, 'the lock is taken while verifying');
        // Redis stops answering while this replica verifies: a command times out and the breaker opens.
        server.pause();
        try {
          assert.equal(await r.tier.get(imageKey('pv-release', at(1), digestOf(1))), undefined);
        } finally {
          server.resume();
        }
        assert.equal(r.tier.breaker, 'open');
        return verdict('verified');
      });
      assert.equal(got.source, 'computed');
      assert.equal(await admin.exists(`${prefix}${key}`), 0, 'not published while the breaker is open');
      assert.equal(await admin.exists(`${prefix}${key}:lock`), 0, 'the lock is released all the same');
    } finally {
      admin.disconnect();
      await r.cache.close();
    }
  });
});
