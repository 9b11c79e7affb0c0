// `pnpm bench -- redis` (docs/benchmarks.md "Shared cache (Redis)"): the shared tier behind the HTTP
// API. Two real verifiers (serve.ts: registry client, notation, the AWS Signer plugin) share a
// redis-server of the benchmark's own on a free loopback port (pausing it disturbs nobody), with the
// default --redisCommandTimeoutMilliseconds (100) and --redisBreakerOpenMilliseconds (5000).
//
//   two replicas    both verifiers asked concurrently, three times, about 20 signed images they have not
//                   seen: notation runs (counted by each verifier's runner) per distinct image
//   L1 hits         cached answers from the in-process tier (what a verifier without Redis does too)
//   L2 only         a third verifier with --cacheMaxSize=1 asked about the 20 images in turn: every
//                   answer is an in-process miss and a Redis hit (checked: it runs notation 0 times)
//   Redis paused    redis-server SIGSTOPped: the L1 verifier (cached answers never ask Redis) and the
//                   L2-only one (the breaker: one request per period waits for the command timeout, the
//                   others verify locally without asking Redis)
// Requests are pods of one container pinned by digest (what Kyverno sends once the verifier's patch is
// applied): no tag resolution, the answer is the caches'.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '@kna/e2e';
import type { Fixtures } from './fixtures.js';
import { podRequest, pushSigned, timedCheck } from './fixtures.js';
import { runLoad, type MeasuredLoad } from './loadClient.js';
import type { BenchOptions, BenchReport } from './report.js';
import { startServer, type ServerProcess } from './servers.js';
import { formatSummary, summarize } from './stats.js';

const IMAGES = 20;
const CONNECTIONS = 8;
/** Requests while paused against the L2-only verifier, most of which run notation: a few connections. */
const PAUSED_COLD_CONNECTIONS = 2;

export async function benchRedis(fixtures: Fixtures, options: BenchOptions & { durationSeconds: number }): Promise<BenchReport> {
  const { log, dir } = options;
  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir, { recursive: true });
  const redis = await startRedisServer({ dir: redisDir });
  const hmacKeyFile = join(dir, 'cache-hmac-key');
  writeFileSync(hmacKeyFile, randomBytes(32).toString('base64'));
  const servers: ServerProcess[] = [];
  /** How often each verifier's breaker opened (its log's warning), by server name. */
  const breakerOpenings = () =>
    Object.fromEntries(
      ['a', 'b', 'l2only'].map((name) => {
        let text = '';
        try {
          text = readFileSync(join(dir, `redis-${name}.log`), 'utf8');
        } catch {
          // not started
        }
        return [name, text.split('\n').filter((l) => l.includes('Redis failed;')).length];
      }),
    );
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  // The verifiers connect in the background: wait until the server counts each (and this) connection.
  const connected = async () => {
    for (;;) {
      const clients = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1] ?? 0);
      if (clients >= servers.length + 1) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const start = async (name: string, extra: readonly string[] = []) => {
    const workDir = join(dir, `redis-${name}-work`);
    mkdirSync(workDir, { recursive: true });
    const flags = [...fixtures.verifierFlags, `--workDir=${workDir}`, `--redisURL=${redis.url}`, `--cacheHMACKeyFile=${hmacKeyFile}`, ...extra];
    const server = await startServer({ kind: 'verifier', flags, env: fixtures.verifierEnv }, join(dir, `redis-${name}.log`), {
      nodeArgs: options.serverNodeArgs,
    });
    servers.push(server);
    return server;
  };
  try {
    const images = await pushSigned(fixtures, 'redis', IMAGES);
    const bodies = images.map((image) => podRequest([image], { pinned: true }));
    const [a, b] = [await start('a'), await start('b')];
    await connected();

    // Two replicas, 20 images, both asked concurrently three times.
    const asks = [0, 1, 2].flatMap(() => bodies.flatMap((body) => [a, b].map((server) => timedCheck(server.url, body))));
    const answers = await Promise.all(asks);
    const failed = answers.filter((x) => x.status !== 200);
    if (failed.length > 0) throw new Error(`redis: ${failed.length} answers were not 200, e.g. ${failed[0]?.status}: ${failed[0]?.text}`);
    const runs = (await a.stats()).notationRuns + (await b.stats()).notationRuns;
    const runsPerImage = runs / IMAGES;
    const openedDuringTwoReplicas = breakerOpenings();
    log(
      `redis: two replicas, ${asks.length} concurrent requests about ${IMAGES} images: ${runs} notation runs (${runsPerImage.toFixed(2)} per image); breaker openings ${JSON.stringify(openedDuringTwoReplicas)}`,
    );

    const cold = await start('l2only', ['--cacheMaxSize=1']);
    await connected();
    const load = (server: ServerProcess, connections = CONNECTIONS, durationSeconds = options.durationSeconds) =>
      runLoad({ url: server.url, connections, durationSeconds, bodies }, server.pid);
    const check = (name: string, m: MeasuredLoad) => {
      if (m.non2xx > 0 || m.errors > 0 || m.timeouts > 0) throw new Error(`redis: ${name}: ${m.non2xx} non-2xx, ${m.errors} errors, ${m.timeouts} timeouts`);
    };
    // Warm-up: the L2-only verifier's connections and JIT; every image's verdict is in Redis already.
    await load(a, CONNECTIONS, 2);
    await load(cold, CONNECTIONS, 2);

    // After a pause the L2-only verifier's breaker stays open until a request probes Redis after the
    // breaker period: one connection asks until a whole second is answered from Redis (no notation run).
    const untilAnsweredFromRedis = async () => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const before = (await cold.stats()).notationRuns;
        await load(cold, 1, 1);
        if ((await cold.stats()).notationRuns === before) return attempt;
      }
      throw new Error('redis: the L2-only verifier does not answer from Redis after 20 s');
    };
    const l1: MeasuredLoad[] = [];
    const l2: MeasuredLoad[] = [];
    const pausedL1: MeasuredLoad[] = [];
    const pausedCold: MeasuredLoad[] = [];
    let coldRunsHealthy = 0;
    let coldRunsPaused = 0;
    for (let round = 0; round < options.rounds; round++) {
      const m1 = await load(a);
      check('L1 hits', m1);
      l1.push(m1);
      const waited = await untilAnsweredFromRedis();
      const before = (await cold.stats()).notationRuns;
      const m2 = await load(cold);
      check('L2 only', m2);
      l2.push(m2);
      const roundRuns = (await cold.stats()).notationRuns - before;
      coldRunsHealthy += roundRuns;

      redis.pause();
      let m3: MeasuredLoad;
      let m4: MeasuredLoad;
      const pausedBefore = (await cold.stats()).notationRuns;
      try {
        m3 = await load(a);
        m4 = await load(cold, PAUSED_COLD_CONNECTIONS);
      } finally {
        redis.resume();
      }
      coldRunsPaused += (await cold.stats()).notationRuns - pausedBefore;
      check('paused, L1 hits', m3);
      check('paused, L2 only', m4);
      pausedL1.push(m3);
      pausedCold.push(m4);
      log(
        `redis: round ${round + 1}: L1 hits p50 ${m1.p50.toFixed(2)} ms p99 ${m1.p99.toFixed(2)} ms; ` +
          `L2 only p50 ${m2.p50.toFixed(2)} ms p99 ${m2.p99.toFixed(2)} ms (${roundRuns} notation runs; ${waited} s of asking before it answered from Redis); ` +
          `paused: L1 hits p50 ${m3.p50.toFixed(2)} ms p99 ${m3.p99.toFixed(2)} ms, L2-only verifier p50 ${m4.p50.toFixed(2)} ms p99 ${m4.p99.toFixed(2)} ms max ${m4.max.toFixed(0)} ms (${m4.responses} answers)`,
      );
    }

    const s = (runs: MeasuredLoad[], key: 'p50' | 'p99' | 'rps' | 'max') => summarize(runs.map((m) => m[key]));
    const row = (label: string, runs: MeasuredLoad[], connections: number) =>
      `| ${label} | ${connections} | ${formatSummary(s(runs, 'rps'), 0)} | ${formatSummary(s(runs, 'p50'))} | ${formatSummary(s(runs, 'p99'))} | ${formatSummary(s(runs, 'max'), 0)} |`;
    const l2Ratio = s(l2, 'p50').median / s(l1, 'p50').median;
    return {
      name: 'redis',
      target: 'shared cache: a cached answer with L2 only and during a Redis pause, against L1; two replicas run notation once per distinct image',
      verdicts: [
        {
          clause: 'two replicas: notation runs per distinct image = 1.0',
          met: runs === IMAGES,
          measured: `${runsPerImage.toFixed(2)} (${runs} runs, ${IMAGES} images)`,
        },
        {
          clause: 'L2 only: every answer from Redis (no notation run)',
          met: coldRunsHealthy === 0,
          measured: `${coldRunsHealthy} runs in ${l2.reduce((n, m) => n + m.responses, 0)} answers`,
        },
        {
          clause: 'Redis paused: cached (L1) answers as fast as with Redis up (p99 within 2×)',
          met: s(pausedL1, 'p99').median <= 2 * s(l1, 'p99').median,
          measured: formatSummary(s(pausedL1, 'p99'), 2, ' ms'),
        },
      ],
      details: [
        `${options.rounds} rounds × ${options.durationSeconds} s per measurement; ${IMAGES} signed images, requests cycle through them (one container, pinned by digest); medians (min–max):`,
        '',
        '| measurement | connections | req/s | p50 ms | p99 ms | max ms |',
        '|---|---|---|---|---|---|',
        row('L1 hits (in-process cache, as without Redis)', l1, CONNECTIONS),
        row('L2 only (--cacheMaxSize=1: every answer from Redis)', l2, CONNECTIONS),
        row('Redis paused, L1 hits', pausedL1, CONNECTIONS),
        row('Redis paused, L2-only verifier (verifies locally)', pausedCold, PAUSED_COLD_CONNECTIONS),
        '',
        `L2-only p50 ÷ L1 p50: ${l2Ratio.toFixed(1)} ×. While paused the L2-only verifier ran notation ${coldRunsPaused} times in ${pausedCold.reduce((n, m) => n + m.responses, 0)} answers ` +
          '(its breaker skips Redis; one request per 5 s period waits for the 100 ms command timeout).',
        `Two replicas asked concurrently (${asks.length} requests, ${IMAGES} images): ${runs} notation runs, ${runsPerImage.toFixed(2)} per image; ` +
          `breaker openings meanwhile ${JSON.stringify(openedDuringTwoReplicas)} (an opening makes a replica verify locally for 5 s).`,
        `Breaker openings over the whole run (the pauses open it on purpose): ${JSON.stringify(breakerOpenings())}.`,
      ],
      data: {
        runs,
        images: IMAGES,
        l1,
        l2,
        pausedL1,
        pausedCold,
        coldRunsHealthy,
        coldRunsPaused,
        openedDuringTwoReplicas,
        breakerOpenings: breakerOpenings(),
      },
    };
  } finally {
    redis.resume();
    admin.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  }
}
