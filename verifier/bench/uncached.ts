// Targets 2 and 3 (docs/benchmarks.md): what a cache miss costs.
//   uncached  one image: the verifier's wall time for /checkimages (cache cleared before each request,
//             so notation runs) against a bare `notation verify` of the same digest, in alternating
//             order, pairwise;
//   pod       a pod of 8 distinct images against the single-image request (both uncached), and a pod
//             of 8 containers of one image, which must start exactly one notation run.
//   burst     cached answers while a burst of uncached images saturates the machine (benchBurst).
// The verifier runs in its own process; requests are sent one at a time from this process, so the
// client costs a fetch per measurement, nothing next to a notation run.
import { join } from 'node:path';
import { push } from '@kna/e2e';
import { bareNotationVerify, podRequest, pushSigned, timedCheck, type BareRun, type Fixtures, type PodImage } from './fixtures.js';
import { childrenCpuSeconds, liveChildren, machine, rssBytes, threadSchedule } from './proc.js';
import type { BenchOptions, BenchReport } from './report.js';
import { startServer, type ServerProcess } from './servers.js';
import { formatSummary, median, ratios, summarize } from './stats.js';

interface ServiceRun {
  readonly ms: number;
  /** notation's own duration inside the service (from the runner), ms. */
  readonly notationMs: number;
  readonly runs: number;
  /** CPU seconds of the notation processes (and their plugins) the request started, or of the notation helper and its plugins. */
  readonly notationCpuSeconds: number;
}

async function uncachedRequest(server: ServerProcess, images: readonly PodImage[]): Promise<ServiceRun> {
  await server.clearCache();
  const before = await server.stats();
  const cpuBefore = childrenCpuSeconds(server.pid);
  const res = await timedCheck(server.url, podRequest(images));
  if (res.status !== 200) throw new Error(`the verifier answered ${res.status}: ${res.text}`);
  const after = await server.stats();
  const runs = after.notationRuns - before.notationRuns;
  return {
    ms: res.ms,
    notationMs: Math.max(0, ...after.notationMs.slice(-Math.max(runs, 1))),
    runs,
    notationCpuSeconds: childrenCpuSeconds(server.pid) - cpuBefore,
  };
}

async function bare(fixtures: Fixtures, image: PodImage): Promise<BareRun> {
  const run = await bareNotationVerify(fixtures, image);
  if (run.code !== 0) throw new Error(`bare notation verify failed (${run.code}): ${run.output}`);
  return run;
}

export async function benchUncached(fixtures: Fixtures, options: BenchOptions): Promise<BenchReport> {
  const { log } = options;
  const [image] = await pushSigned(fixtures, 'single', 1);
  if (!image) throw new Error('no image');
  const server = await startServer({ kind: 'verifier', flags: fixtures.verifierFlags, env: fixtures.verifierEnv }, join(options.dir, 'uncached-verifier.log'), {
    nodeArgs: options.serverNodeArgs,
    compiled: options.serverCompiled,
  });
  try {
    // Warm the page cache, the registry and both code paths once; not measured.
    await bare(fixtures, image);
    await uncachedRequest(server, [image]);
    // notation runs are short and the machine noisy: more pairs than rounds elsewhere.
    const iterations = options.rounds * 4 + 1;
    const service: ServiceRun[] = [];
    const bareRuns: BareRun[] = [];
    for (let i = 0; i < iterations; i++) {
      if (i % 2 === 0) {
        bareRuns.push(await bare(fixtures, image));
        service.push(await uncachedRequest(server, [image]));
      } else {
        service.push(await uncachedRequest(server, [image]));
        bareRuns.push(await bare(fixtures, image));
      }
      const s = service.at(-1);
      const b = bareRuns.at(-1);
      if (s?.runs !== 1) throw new Error(`an uncached single-image request started ${s?.runs} notation runs, not 1`);
      log(
        `uncached: ${i + 1}/${iterations}: service ${s.ms.toFixed(0)} ms (notation inside ${s.notationMs.toFixed(0)} ms), bare notation ${b?.ms.toFixed(0)} ms`,
      );
    }
    const ratio = summarize(
      ratios(
        service.map((s) => s.ms),
        bareRuns.map((b) => b.ms),
      ),
    );
    const overhead = summarize(service.map((s) => s.ms - s.notationMs));
    // A resident notation helper (--notationEngine=helper) stays between requests: its memory, idle.
    const resident = liveChildren(server.pid).map((c) => `${c.comm} ${((rssBytes(c.pid) ?? 0) / 1024 / 1024).toFixed(1)} MiB`);
    return {
      name: 'uncached',
      target: 'uncached single image: service wall time ≤ 1.15 × a bare `notation verify` of the same digest',
      verdicts: [{ clause: 'service ≤ 1.15 × bare notation verify', met: ratio.median <= 1.15, measured: `${formatSummary(ratio)} ×` }],
      details: [
        `${iterations} pairs, alternating which goes first; the verifier's cache is cleared before each of its requests.`,
        '',
        '| | ms, median (min–max) |',
        '|---|---|',
        `| verifier /checkimages, 1 image, uncached | ${formatSummary(summarize(service.map((s) => s.ms)), 0)} |`,
        `| … of which notation inside the verifier | ${formatSummary(summarize(service.map((s) => s.notationMs)), 0)} |`,
        `| … the rest (HTTP, tag resolution, cache, answer) | ${formatSummary(overhead, 0)} |`,
        `| bare \`notation verify\` | ${formatSummary(summarize(bareRuns.map((b) => b.ms)), 0)} |`,
        '',
        `CPU of one verification (notation + plugin processes): bare ${formatSummary(summarize(bareRuns.map((b) => b.cpuSeconds * 1000)), 0, ' ms')}, ` +
          `in the verifier ${formatSummary(summarize(service.map((s) => s.notationCpuSeconds * 1000)), 0, ' ms')}.`,
        ...(resident.length > 0 ? ['', `Resident child processes of the verifier, RSS when idle: ${resident.join(', ')}.`] : []),
      ],
      data: { service, bare: bareRuns, ratio },
    };
  } finally {
    await server.stop();
  }
}

export async function benchPod(fixtures: Fixtures, options: BenchOptions): Promise<BenchReport> {
  const { log } = options;
  const images = await pushSigned(fixtures, 'pod', 8);
  const single = images.slice(0, 1);
  const same = Array.from({ length: 8 }, () => images[0] as PodImage);
  const server = await startServer({ kind: 'verifier', flags: fixtures.verifierFlags, env: fixtures.verifierEnv }, join(options.dir, 'pod-verifier.log'), {
    nodeArgs: options.serverNodeArgs,
    compiled: options.serverCompiled,
  });
  // The same pod through a verifier that runs one notation at a time: what "parallel, not serial" buys here.
  const serial = await startServer(
    { kind: 'verifier', flags: [...fixtures.verifierFlags, '--maxConcurrentVerifications=1'], env: fixtures.verifierEnv },
    join(options.dir, 'pod-serial-verifier.log'),
    { nodeArgs: options.serverNodeArgs, compiled: options.serverCompiled },
  );
  try {
    await uncachedRequest(server, single);
    await uncachedRequest(server, images);
    await uncachedRequest(serial, images);
    const iterations = options.rounds * 2 + 1;
    const one: ServiceRun[] = [];
    const eight: ServiceRun[] = [];
    const sameImage: ServiceRun[] = [];
    const eightSerial: ServiceRun[] = [];
    for (let i = 0; i < iterations; i++) {
      if (i % 2 === 0) {
        one.push(await uncachedRequest(server, single));
        eight.push(await uncachedRequest(server, images));
      } else {
        eight.push(await uncachedRequest(server, images));
        one.push(await uncachedRequest(server, single));
      }
      sameImage.push(await uncachedRequest(server, same));
      eightSerial.push(await uncachedRequest(serial, images));
      const e = eight.at(-1);
      if (e?.runs !== 8) throw new Error(`a pod of 8 distinct images started ${e?.runs} notation runs, not 8`);
      log(
        `pod: ${i + 1}/${iterations}: 1 image ${one.at(-1)?.ms.toFixed(0)} ms, 8 distinct ${e.ms.toFixed(0)} ms, ` +
          `8 × the same image ${sameImage.at(-1)?.ms.toFixed(0)} ms with ${sameImage.at(-1)?.runs} notation run(s); 8 distinct, serial ${eightSerial.at(-1)?.ms.toFixed(0)} ms`,
      );
    }
    const ratio = summarize(
      ratios(
        eight.map((r) => r.ms),
        one.map((r) => r.ms),
      ),
    );
    const serialRatio = summarize(
      ratios(
        eightSerial.map((r) => r.ms),
        one.map((r) => r.ms),
      ),
    );
    const runsSame = sameImage.map((r) => r.runs);
    const cores = machine().cores;
    const cpuEight = median(eight.map((r) => r.notationCpuSeconds * 1000));
    const singleMs = median(one.map((r) => r.ms));
    const floor = Math.max(singleMs, cpuEight / cores);
    return {
      name: 'pod',
      target: 'pod of 8 distinct images ≤ 2.5 × the single-image time; 8 containers of one image: one notation run',
      verdicts: [
        { clause: '8 distinct images ≤ 2.5 × 1 image (uncached)', met: ratio.median <= 2.5, measured: `${formatSummary(ratio)} ×` },
        {
          clause: '8 containers, one image: 1 notation run',
          met: runsSame.every((r) => r === 1),
          measured: `${runsSame.join(', ')} run(s) in ${runsSame.length} requests`,
        },
      ],
      details: [
        `${iterations} iterations; the cache is cleared before every request; --maxConcurrentVerifications=8 (default).`,
        '',
        '| uncached request | wall ms, median (min–max) | notation + plugin CPU ms |',
        '|---|---|---|',
        `| 1 image | ${formatSummary(summarize(one.map((r) => r.ms)), 0)} | ${formatSummary(summarize(one.map((r) => r.notationCpuSeconds * 1000)), 0)} |`,
        `| 8 distinct images | ${formatSummary(summarize(eight.map((r) => r.ms)), 0)} | ${formatSummary(summarize(eight.map((r) => r.notationCpuSeconds * 1000)), 0)} |`,
        `| 8 containers of one image | ${formatSummary(summarize(sameImage.map((r) => r.ms)), 0)} | ${formatSummary(summarize(sameImage.map((r) => r.notationCpuSeconds * 1000)), 0)} |`,
        `| 8 distinct images, --maxConcurrentVerifications=1 (serial, for comparison) | ${formatSummary(summarize(eightSerial.map((r) => r.ms)), 0)} | ${formatSummary(summarize(eightSerial.map((r) => r.notationCpuSeconds * 1000)), 0)} |`,
        '',
        `One verification costs ≈ ${(cpuEight / 8).toFixed(0)} ms of CPU (/proc counts 10 ms ticks); the pod's 8 take ${cpuEight.toFixed(0)} ms, which ${cores} cores cannot do in less than ` +
          `${(cpuEight / cores).toFixed(0)} ms: the floor for the 8-image pod on this machine is ≈ ${floor.toFixed(0)} ms = ${(floor / singleMs).toFixed(2)} × the single image ` +
          '(counting only notation and the plugin: the registry and the fake AWS Signer API serving them take CPU too). ' +
          `Serial, the pod takes ${formatSummary(serialRatio)} × the single image.`,
      ],
      data: { one, eight, sameImage, eightSerial, ratio, serialRatio },
    };
  } finally {
    await Promise.all([server.stop(), serial.stop()]);
  }
}

/** `burst`: distinct uncached images sent at once, and the cached request's period beside them. */
const BURST_IMAGES = 60;
const CACHED_EVERY_MS = 20;
/** How long the cached requests are timed before the burst, for the quiet figure. */
const QUIET_MS = 1000;
/** Target (docs/benchmarks.md "burst"): a cached answer's p99 while uncached work saturates the machine. */
const BURST_P99_TARGET_MS = 50;

interface BurstRound {
  readonly server: string;
  readonly loadAverage: string;
  readonly quietMs: readonly number[];
  readonly duringMs: readonly number[];
  /** From the first burst request sent to the last answer. */
  readonly burstMs: number;
  readonly notationRuns: number;
  /** CPU seconds of notation (and plugin) processes during the burst. */
  readonly notationCpuSeconds: number;
  /** CPU seconds of the verifier's main thread (its event loop) during the burst. */
  readonly eventLoopCpuSeconds: number;
  /** Seconds the main thread was runnable but waited for a CPU during the burst (the machine's share). */
  readonly eventLoopWaitSeconds: number;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Sends `body` every CACHED_EVERY_MS (open loop: a slow answer does not delay the next request) until stopped. */
function cachedTicker(url: string, body: string): { stop: () => Promise<number[]> } {
  const pending: Promise<number>[] = [];
  const timer = setInterval(() => {
    pending.push(
      timedCheck(url, body).then((r) => {
        if (r.status !== 200) throw new Error(`a cached request answered ${r.status}: ${r.text}`);
        return r.ms;
      }),
    );
  }, CACHED_EVERY_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      return Promise.all(pending);
    },
  };
}

/**
 * Cached answers while uncached work saturates the machine (issue "Faster than the original", item 4):
 * the verifier in local mode gets BURST_IMAGES requests at once, each for a different unsigned image (by
 * tag: a resolution and a notation run each, denied), while a pod pinned by digest whose verdict is
 * cached is asked every CACHED_EVERY_MS beside them. Two verifiers alternate round by round: the
 * default (notation at a lower CPU priority, --notationNiceness=10) and --notationNiceness=0.
 */
export async function benchBurst(fixtures: Fixtures, options: BenchOptions): Promise<BenchReport> {
  const { log } = options;
  const [cachedImage] = await pushSigned(fixtures, 'burst-cached', 1);
  if (!cachedImage) throw new Error('no image');
  const unsigned: PodImage[] = [];
  for (let i = 0; i < BURST_IMAGES; i++) {
    const path = `bench/burst-unsigned-${i}`;
    const { digest } = await push(`${fixtures.harness.registry}/${path}:v1`);
    unsigned.push({ registry: fixtures.harness.registry, path, tag: 'v1', digest });
  }
  const cachedBody = podRequest([cachedImage], { pinned: true });
  const burstBodies = unsigned.map((image) => podRequest([image]));
  const variants = [
    { name: 'default (--notationNiceness=10)', flags: [] as string[] },
    { name: '--notationNiceness=0', flags: ['--notationNiceness=0'] },
  ];
  const servers: ServerProcess[] = [];
  try {
    for (const [i, v] of variants.entries()) {
      servers.push(
        await startServer(
          { kind: 'verifier', flags: [...fixtures.verifierFlags, ...v.flags], env: fixtures.verifierEnv },
          join(options.dir, `burst-${i}.log`),
          {
            nodeArgs: options.serverNodeArgs,
            compiled: options.serverCompiled,
          },
        ),
      );
    }
    // One burst per verifier first, not measured: the first notation runs of a process (and the code
    // paths of its first requests) are slower than any later ones.
    for (const server of servers) {
      await server.clearCache();
      await Promise.all(burstBodies.map((b) => timedCheck(server.url, b)));
    }
    const rounds: BurstRound[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < variants.length; k++) {
        const index = (round + k) % variants.length;
        const server = servers[index];
        const variant = variants[index];
        if (!server || !variant) continue;
        await server.clearCache();
        const prime = await timedCheck(server.url, cachedBody);
        if (prime.status !== 200) throw new Error(`the verifier did not verify the cached image (${prime.status}): ${prime.text}`);
        const loadAverage = machine().loadAverage;
        const quiet = cachedTicker(server.url, cachedBody);
        await new Promise((r) => setTimeout(r, QUIET_MS));
        const quietMs = await quiet.stop();
        const before = await server.stats();
        const cpuBefore = childrenCpuSeconds(server.pid);
        const loopBefore = threadSchedule(server.pid, server.pid);
        const during = cachedTicker(server.url, cachedBody);
        const started = performance.now();
        const answers = await Promise.all(burstBodies.map((b) => timedCheck(server.url, b)));
        const burstMs = performance.now() - started;
        const loopAfter = threadSchedule(server.pid, server.pid);
        const duringMs = await during.stop();
        const after = await server.stats();
        const wrong = answers.filter((a) => a.status !== 406);
        if (wrong.length > 0) throw new Error(`${wrong.length} burst requests were not denied, e.g. ${wrong[0]?.status}: ${wrong[0]?.text}`);
        const r: BurstRound = {
          server: variant.name,
          loadAverage,
          quietMs,
          duringMs,
          burstMs,
          notationRuns: after.notationRuns - before.notationRuns,
          notationCpuSeconds: childrenCpuSeconds(server.pid) - cpuBefore,
          eventLoopCpuSeconds: loopAfter.cpuSeconds - loopBefore.cpuSeconds,
          eventLoopWaitSeconds: loopAfter.waitSeconds - loopBefore.waitSeconds,
        };
        rounds.push(r);
        log(
          `burst: round ${round + 1} ${variant.name}: load ${loadAverage}; cached quiet p50 ${percentile(quietMs, 50).toFixed(1)} / p99 ${percentile(quietMs, 99).toFixed(1)} ms; ` +
            `during the ${burstMs.toFixed(0)} ms burst (${r.notationRuns} notation runs, event loop CPU ${(r.eventLoopCpuSeconds * 1000).toFixed(0)} ms, waiting for a CPU ${(r.eventLoopWaitSeconds * 1000).toFixed(0)} ms) p50 ${percentile(duringMs, 50).toFixed(1)} / p99 ${percentile(duringMs, 99).toFixed(1)} / max ${Math.max(...duringMs).toFixed(1)} ms (n=${duringMs.length})`,
        );
      }
    }
    const of = (name: string) => rounds.filter((r) => r.server === name);
    const pooled = (name: string, side: 'quietMs' | 'duringMs') => of(name).flatMap((r) => r[side]);
    const row = (name: string) => {
      const rs = of(name);
      return (
        `| ${name} | ${percentile(pooled(name, 'quietMs'), 50).toFixed(1)} / ${percentile(pooled(name, 'quietMs'), 99).toFixed(1)} | ` +
        `${formatSummary(summarize(rs.map((r) => percentile(r.duringMs, 50))), 1)} | ${formatSummary(summarize(rs.map((r) => percentile(r.duringMs, 99))), 1)} | ` +
        `${percentile(pooled(name, 'duringMs'), 50).toFixed(1)} / ${percentile(pooled(name, 'duringMs'), 99).toFixed(1)} / ${Math.max(...pooled(name, 'duringMs')).toFixed(1)} | ` +
        `${formatSummary(summarize(rs.map((r) => r.burstMs)), 0)} | ${formatSummary(summarize(rs.map((r) => r.eventLoopCpuSeconds * 1000)), 0)} | ` +
        `${formatSummary(summarize(rs.map((r) => r.eventLoopWaitSeconds * 1000)), 0)} | ` +
        `${formatSummary(summarize(rs.map((r) => r.notationCpuSeconds * 1000)), 0)} |`
      );
    };
    const p99s = (name: string) => summarize(of(name).map((r) => percentile(r.duringMs, 99)));
    const main = variants[0]?.name ?? '';
    return {
      name: 'burst',
      target: `cached answers while uncached work saturates the machine: cached p99 < ${BURST_P99_TARGET_MS} ms during a burst of ${BURST_IMAGES} uncached images`,
      verdicts: variants.map((v) => ({
        clause: `${v.name}: cached p99 during the burst < ${BURST_P99_TARGET_MS} ms`,
        met: p99s(v.name).median < BURST_P99_TARGET_MS,
        measured: formatSummary(p99s(v.name), 1, ' ms'),
      })),
      details: [
        `${options.rounds} rounds per verifier, alternating; each round: the cache cleared and the cached pod (one image, pinned by digest) primed, ` +
          `then that pod every ${CACHED_EVERY_MS} ms for ${QUIET_MS} ms alone ("quiet"), then the same beside ${BURST_IMAGES} concurrent requests for ${BURST_IMAGES} different unsigned images by tag ` +
          `(each a resolution and a notation run, answered 406; --maxConcurrentVerifications=8). Load average at the rounds' start: ${rounds.map((r) => r.loadAverage.split(' ')[0]).join(', ')}.`,
        '',
        '| verifier | cached quiet p50 / p99 ms (pooled) | cached p50 during the burst, ms (per round) | cached p99 during the burst, ms (per round) | pooled during the burst p50 / p99 / max ms | burst wall ms | verifier main thread (event loop) CPU ms per burst | main thread runnable but waiting for a CPU, ms per burst | notation + plugin CPU ms per burst |',
        '|---|---|---|---|---|---|---|---|---|',
        ...variants.map((v) => row(v.name)),
        '',
        `Target p99 < ${BURST_P99_TARGET_MS} ms; the verdict takes the median over rounds of each round's p99 (${main} first).`,
      ],
      data: { rounds },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
