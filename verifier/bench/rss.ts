// Target 4 (docs/benchmarks.md): resident memory stays flat (± 10%) over 200k requests that name 50k
// distinct digests, with --cacheMaxSize=1000.
//
// What runs: the real request listener, schema validation, body parser, pipeline, LRU verdict cache,
// answer, Prometheus metrics and the production logger (info, one line per request, to a file), in
// a server process of its own (serve.ts `standins`). What does not: the registry and notation, which
// are instant stand-ins. Pushing 50k images and running notation 50k times would take hours here, and
// what the target is about — that nothing in the verifier's own process grows with the number of
// distinct digests — is exercised all the same: each request names a one-container pod whose image is
// the next of 50k repositories in turn, the stand-in resolver gives each its own digest, so the cache
// sees 50k distinct keys, 200 times its bound, and nearly every request is a miss that evicts an entry
// (the worst case for the cache). RSS is read from /proc by this process every 250 ms. A warm-up of
// the same mix comes first, so that JIT and the cache filling up are not mistaken for a trend. Two V8
// settings: Node's defaults, which on this 24 GiB machine let the old generation fill with garbage up
// to a few hundred MiB before a full collection (RSS swings with it), and a heap limit such as a pod
// with a memory limit is given. The live heap after a full collection, before and after the measured
// requests, tells a leak from garbage that has not been collected yet.
import { join } from 'node:path';
import { POLICY } from './fixtures.js';
import { runLoad } from './loadClient.js';
import { rssBytes } from './proc.js';
import { MiB, type BenchOptions, type BenchReport } from './report.js';
import { startServer } from './servers.js';
import { formatSummary, median, summarize } from './stats.js';

const REQUESTS = 200_000;
/** Requests before the measured ones (same mix): JIT, the cache filling up, V8 sizing its heap for this load. */
const WARMUP_REQUESTS = 50_000;
const DISTINCT = 50_000;
const CACHE_MAX = 1_000;
const CONNECTIONS = 50;
/** The baseline is the median RSS over the first 10% of the measured phase. */
const BASELINE = 0.1;

interface Sample {
  /** Seconds since the measured phase started. */
  readonly t: number;
  readonly mib: number;
}

/** V8 heap settings the runs are made with: Node's defaults (sized for this 24 GiB machine), and a pod's. */
const VARIANTS = [
  { name: 'Node defaults', nodeArgs: [] as string[] },
  { name: '--max-old-space-size=128', nodeArgs: ['--max-old-space-size=128'] },
] as const;

interface RssRun {
  readonly variant: string;
  readonly idleMiB: number;
  readonly afterWarmupMiB: number;
  readonly baselineMiB: number;
  readonly minMiB: number;
  readonly maxMiB: number;
  readonly finalMiB: number;
  /** Largest |sample − baseline| / baseline over the measured phase. */
  readonly maxDeviation: number;
  /** End RSS / baseline − 1. */
  readonly drift: number;
  readonly rps: number;
  readonly cacheEntries: number;
  readonly cacheMisses: number;
  readonly notationRuns: number;
  /** V8 heap in use after a full collection, before and after the measured phase: what the server keeps. */
  readonly liveHeapBeforeMiB: number;
  readonly liveHeapAfterMiB: number;
  readonly samples: readonly Sample[];
}

async function run(options: BenchOptions, requests: number, variant: (typeof VARIANTS)[number], round: number): Promise<RssRun> {
  const load = { connections: CONNECTIONS, distinctImages: { distinct: DISTINCT, registry: 'registry.bench.example', trustPolicy: POLICY } };
  const server = await startServer(
    { kind: 'standins', flags: [`--cacheMaxSize=${CACHE_MAX}`, '--logLevel=info'] },
    join(options.dir, `rss-${variant.nodeArgs.length}-${round}.log`),
    // --expose-gc only lets the benchmark ask for the two full collections below; nothing else calls gc().
    { nodeArgs: [...options.serverNodeArgs, '--expose-gc', ...variant.nodeArgs], compiled: options.serverCompiled },
  );
  try {
    const idle = rssBytes(server.pid) ?? 0;
    const warm = await runLoad({ ...load, url: server.url, amount: WARMUP_REQUESTS }, server.pid);
    if (warm.non2xx > 0 || warm.errors > 0) throw new Error(`rss warm-up: ${warm.non2xx} non-2xx answers and ${warm.errors} errors`);
    const afterWarmup = rssBytes(server.pid) ?? 0;
    const liveBefore = (await server.liveHeap()).heapUsedBytes;

    const started = performance.now();
    const samples: Sample[] = [];
    const sample = () => {
      const rss = rssBytes(server.pid);
      if (rss !== undefined) samples.push({ t: (performance.now() - started) / 1000, mib: rss / MiB });
    };
    const m = await runLoad({ ...load, url: server.url, amount: requests }, server.pid, { onTick: sample, tickMs: 250 });
    sample();
    if (m.non2xx > 0 || m.errors > 0) throw new Error(`rss: ${m.non2xx} non-2xx answers and ${m.errors} errors`);
    const stats = await server.liveHeap();
    const total = samples.at(-1)?.t ?? 0;
    const baselineMiB = median(samples.filter((s) => s.t < BASELINE * total).map((s) => s.mib));
    const values = samples.map((s) => s.mib);
    const finalMiB = values.at(-1) ?? Number.NaN;
    const result: RssRun = {
      variant: variant.name,
      idleMiB: idle / MiB,
      afterWarmupMiB: afterWarmup / MiB,
      baselineMiB,
      minMiB: Math.min(...values),
      maxMiB: Math.max(...values),
      finalMiB,
      maxDeviation: Math.max(...values.map((v) => Math.abs(v - baselineMiB) / baselineMiB)),
      drift: finalMiB / baselineMiB - 1,
      rps: m.rps,
      cacheEntries: stats.cacheEntries,
      cacheMisses: stats.cacheMisses,
      notationRuns: stats.notationRuns,
      liveHeapBeforeMiB: liveBefore / MiB,
      liveHeapAfterMiB: stats.heapUsedBytes / MiB,
      samples,
    };
    options.log(
      `rss (${variant.name}): run ${round + 1}: ${m.ok} requests at ${m.rps.toFixed(0)} req/s after ${warm.ok} warm-up requests; RSS idle ${result.idleMiB.toFixed(0)} MiB, ` +
        `after warm-up ${result.afterWarmupMiB.toFixed(0)} MiB, baseline ${baselineMiB.toFixed(1)} MiB, ${result.minMiB.toFixed(1)}–${result.maxMiB.toFixed(1)} MiB, final ${finalMiB.toFixed(1)} MiB ` +
        `(max deviation ${(result.maxDeviation * 100).toFixed(1)}%); live heap ${result.liveHeapBeforeMiB.toFixed(1)} → ${result.liveHeapAfterMiB.toFixed(1)} MiB; ` +
        `cache ${stats.cacheEntries} entries, ${stats.cacheMisses} misses, ${stats.notationRuns} stand-in notation runs`,
    );
    return result;
  } finally {
    await server.stop();
  }
}

export async function benchRss(options: BenchOptions & { requests?: number }): Promise<BenchReport> {
  const requests = options.requests ?? REQUESTS;
  const rounds = Math.min(options.rounds, 3);
  const runs: RssRun[] = [];
  // Alternate the variants so that a busy spell of the machine does not fall on one of them only.
  for (let round = 0; round < rounds; round++) for (const variant of VARIANTS) runs.push(await run(options, requests, variant, round));
  const of = (variant: string) => runs.filter((r) => r.variant === variant);
  const mib = (variant: string, pick: (r: RssRun) => number) => formatSummary(summarize(of(variant).map(pick)), 1);
  const [plain, limited] = VARIANTS.map((v) => v.name) as [string, string];
  const row = (label: string, pick: (r: RssRun) => number) => `| ${label} | ${mib(plain, pick)} | ${mib(limited, pick)} |`;
  const deviation = (variant: string) => summarize(of(variant).map((r) => r.maxDeviation * 100));
  return {
    name: 'rss',
    target: `RSS flat (± 10%) over ${requests} requests with ${DISTINCT} distinct digests and --cacheMaxSize=${CACHE_MAX} (registry and notation stand-ins)`,
    verdicts: [
      {
        clause: `RSS within ± 10% of its baseline (${plain})`,
        met: of(plain).every((r) => r.maxDeviation <= 0.1),
        measured: `max deviation ${formatSummary(deviation(plain), 1, '%')}`,
      },
      {
        clause: `RSS within ± 10% of its baseline (${limited})`,
        met: of(limited).every((r) => r.maxDeviation <= 0.1),
        measured: `max deviation ${formatSummary(deviation(limited), 1, '%')}`,
      },
    ],
    details: [
      `${rounds} runs per V8 setting, a fresh server each; ${CONNECTIONS} connections; one-container pods cycling through ${DISTINCT} repositories, so every digest comes back ` +
        `after ${DISTINCT - 1} others, long after the ${CACHE_MAX}-entry cache evicted it: nearly every request is a miss that evicts an entry.`,
      `Each run: ${WARMUP_REQUESTS} warm-up requests of the same mix, then the ${requests} measured ones. Baseline: the median RSS over the first ${BASELINE * 100}% of the measured phase; ` +
        'deviation: the largest distance of any sample (every 250 ms) from it. Live heap: V8 heap in use right after a full collection.',
      '',
      `| MiB, median (min–max) over runs | ${plain} | ${limited} |`,
      '|---|---|---|',
      row('RSS idle, before any request', (r) => r.idleMiB),
      row('RSS after the warm-up', (r) => r.afterWarmupMiB),
      row('RSS baseline (measured phase)', (r) => r.baselineMiB),
      row('RSS lowest in the measured phase', (r) => r.minMiB),
      row('RSS highest in the measured phase', (r) => r.maxMiB),
      row('RSS at the end', (r) => r.finalMiB),
      row('live heap before the measured phase', (r) => r.liveHeapBeforeMiB),
      row('live heap after it', (r) => r.liveHeapAfterMiB),
      row('throughput, req/s', (r) => r.rps),
      '',
      `Cache entries at the end: ${runs.map((r) => r.cacheEntries).join(', ')} (bound ${CACHE_MAX}); cache misses: ${runs.map((r) => r.cacheMisses).join(', ')} ` +
        `of ${WARMUP_REQUESTS + requests} requests per run.`,
    ],
    data: { runs: runs.map(({ samples, ...rest }) => ({ ...rest, samples: samples.filter((_, i) => i % 4 === 0) })) },
  };
}
