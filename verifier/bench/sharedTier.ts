// Benchmark of the shared (Redis) verdict tier, at the cache's interface (getOrCompute), against a
// redis-server of its own on a free loopback port (so pausing it disturbs nobody). Not a test: it prints
// numbers for docs/benchmarks.md. Run: pnpm bench:redis [lookups per phase, default 20000]
//
//   L1 only            the in-process tier, every lookup a hit
//   L2 only (L1 cold)  an in-process tier of one entry cycling over 200 keys: every lookup goes to Redis
//   Redis paused       the same while redis-server is SIGSTOPped: the breaker's cost
//   lock wait          how long after the holder published a waiting replica answers (polling interval)
//   two replicas       computations per distinct key, both replicas asked concurrently for 20 keys
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { SharedVerdictTier } from '../src/cache/shared.js';
import { VerdictCache, type Verdict } from '../src/cache/verdicts.js';

const LOOKUPS = Number(process.argv[2] ?? 20000);
const KEYS = 200;
const key = (i: number) => `kna:v1:bench:registry.bench/app${i}@sha256:${String(i).padStart(64, '0')}`;
const verdict: Verdict = { outcome: 'verified', digest: 'sha256:d', reason: 'verified', kind: 'none', warnings: [], verifiedAt: new Date().toISOString() };
const hmacKey = randomBytes(32);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function report(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const fmt = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  console.log(
    `${name.padEnd(28)} n=${String(samples.length).padEnd(6)} p50 ${fmt(percentile(sorted, 50)).padEnd(9)} p99 ${fmt(percentile(sorted, 99)).padEnd(9)} max ${fmt(sorted.at(-1) ?? NaN)}`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function tier(url: string, overrides: Partial<Parameters<typeof SharedVerdictTier.open>[0]> = {}): Promise<SharedVerdictTier> {
  return SharedVerdictTier.open({ url, hmacKey, commandTimeoutMs: 100, breakerOpenMs: 5000, lockWaitMs: 5000, lockTtlMs: 30_000, ...overrides });
}

async function connected(t: SharedVerdictTier): Promise<void> {
  while (!t.connected) await new Promise((r) => setTimeout(r, 10));
}

async function timed(cache: VerdictCache, n: number, compute: () => Promise<Verdict>): Promise<{ samples: number[]; computed: number; l2: number }> {
  const samples: number[] = [];
  let computed = 0;
  let l2 = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = await cache.getOrCompute(key(i % KEYS), compute);
    samples.push(performance.now() - t0);
    if (got.source === 'computed') computed++;
    if (got.source === 'l2') l2++;
  }
  return { samples, computed, l2 };
}

const port = await freePort();
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
const admin = new Redis(url, { retryStrategy: (n) => (n > 50 ? null : 50) });
admin.on('error', () => {}); // refused until redis-server listens
await admin.ping();
const instant = () => Promise.resolve(verdict);
try {
  const l1 = new VerdictCache({ enabled: true, maxEntries: 1000, ttlSeconds: 3600, negativeTtlSeconds: 10 });
  await timed(l1, KEYS, instant);
  report('L1 only (hits)', (await timed(l1, LOOKUPS, instant)).samples);

  const shared = await tier(url);
  await connected(shared);
  const l2 = new VerdictCache({ enabled: true, maxEntries: 1, ttlSeconds: 3600, negativeTtlSeconds: 10, shared });
  await timed(l2, KEYS, instant); // fill Redis
  const l2Run = await timed(l2, LOOKUPS, instant);
  report('L2 only (L1 cold)', l2Run.samples);
  console.log(`  answered from Redis: ${l2Run.l2}/${LOOKUPS}`);

  // Paused for 12 s, over two breaker periods: each period should see one lookup pay the 100 ms timeout.
  server.kill('SIGSTOP');
  const pausedSamples: number[] = [];
  const pausedUntil = performance.now() + 12_000;
  while (performance.now() < pausedUntil) pausedSamples.push(...(await timed(l2, 1000, instant)).samples);
  report('Redis paused (SIGSTOP)', pausedSamples);
  console.log(`  lookups that waited for the 100 ms command timeout: ${pausedSamples.filter((s) => s >= 95).length} in 12 s (breaker period 5 s)`);
  server.kill('SIGCONT');
  await l2.close();

  // Lock wait: A holds the lock for 100 ms of "verification"; B asks 5 ms later. B's extra latency after A's answer is the polling delay.
  const delays: number[] = [];
  const tierA = await tier(url);
  const tierB = await tier(url);
  await connected(tierA);
  await connected(tierB);
  const a = new VerdictCache({ enabled: true, maxEntries: 1000, ttlSeconds: 3600, negativeTtlSeconds: 10, shared: tierA });
  const b = new VerdictCache({ enabled: true, maxEntries: 1000, ttlSeconds: 3600, negativeTtlSeconds: 10, shared: tierB });
  for (let i = 0; i < 50; i++) {
    const k = `kna:v1:bench-lock-${i}:registry.bench/app@sha256:0`;
    let publishedAt = 0;
    const first = a
      .getOrCompute(k, async () => {
        await new Promise((r) => setTimeout(r, 100));
        return verdict;
      })
      .then((x) => {
        publishedAt = performance.now();
        return x;
      });
    await new Promise((r) => setTimeout(r, 5));
    const second = await b.getOrCompute(k, () => Promise.reject(new Error('B verified although A held the lock')));
    const doneAt = performance.now();
    await first;
    if (second.source === 'l2') delays.push(Math.max(0, doneAt - publishedAt));
  }
  report('lock wait after publish', delays);

  // Two replicas, 20 keys, both asked concurrently five times: computations per distinct key.
  let computations = 0;
  const slow = async () => {
    computations++;
    await new Promise((r) => setTimeout(r, 50));
    return verdict;
  };
  const asks: Promise<unknown>[] = [];
  for (let round = 0; round < 5; round++)
    for (let i = 0; i < 20; i++) for (const c of [a, b]) asks.push(c.getOrCompute(`kna:v1:bench-two:registry.bench/app${i}@sha256:0`, slow));
  await Promise.all(asks);
  console.log(`two replicas: ${computations} computations for 20 distinct keys = ${(computations / 20).toFixed(2)} per key`);
  await a.close();
  await b.close();
} finally {
  server.kill('SIGCONT');
  server.kill('SIGKILL');
  admin.disconnect();
}
