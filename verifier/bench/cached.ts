// Target 1 (docs/benchmarks.md): cached /checkimages for a 3-container pod against a bare Fastify route
// that answers the same JSON, at 50 concurrent connections; throughput ratio and p99. Each round also
// runs every server with one connection, for the latency of a server that is not loaded.
//
// Three servers, each in its own process, loaded in turn by autocannon in another process, round
// after round (the order rotates so no server always runs after the same one):
//   bare      the yardstick: a Fastify route that answers the verifier's exact response bytes;
//   verifier  the real verifier in local mode: every request resolves each container's tag with the
//             verifier's own registry client (docs/architecture.md "The request pipeline": one resolution per image per request),
//             then hits the cache; notation does not run once the cache is warm (checked);
//   standins  the same listener, pipeline, cache, metrics and logger with the registry replaced by an
//             instant stand-in: the verifier's own cost, without the registry round trips;
//   pinned    the real verifier again, asked about the same pod with its images pinned by digest (what
//             Kyverno's patch makes of them): no resolution is needed, the answer is the cache's;
//   tagCached a second real verifier with --tagCacheTTLSeconds=5: the pod by tag, its resolutions
//             reused for 5 s (README "Tag resolution"): about one HEAD per image per 5 s.
import { join } from 'node:path';
import type { Fixtures } from './fixtures.js';
import { podRequest, pushSigned, timedCheck } from './fixtures.js';
import { runLoad, type MeasuredLoad } from './loadClient.js';
import { rssWithChildren } from './proc.js';
import { MiB, type BenchOptions, type BenchReport } from './report.js';
import { startServer, type ServerProcess } from './servers.js';
import { formatSummary, ratios, summarize } from './stats.js';

const CONNECTIONS = 50;
/** Connections of the second measurement: one request at a time, the latency of a server that is not loaded. */
const UNLOADED_CONNECTIONS = 1;
const UNLOADED_SECONDS = 3;
/** The tag memory of the `tagCached` server: a value an operator might choose (README "Tag resolution"). */
const TAG_CACHE_TTL_SECONDS = 5;

export async function benchCached(fixtures: Fixtures, options: BenchOptions & { durationSeconds: number }): Promise<BenchReport> {
  const { log, dir } = options;
  const images = await pushSigned(fixtures, 'cached', 3);
  const body = podRequest(images);
  const pinnedBody = podRequest(images, { pinned: true });
  const servers: Record<'bare' | 'verifier' | 'standins' | 'pinned' | 'tagCached', ServerProcess | undefined> = {
    bare: undefined,
    verifier: undefined,
    standins: undefined,
    pinned: undefined,
    tagCached: undefined,
  };
  try {
    const verifier = await startServer({ kind: 'verifier', flags: fixtures.verifierFlags, env: fixtures.verifierEnv }, join(dir, 'cached-verifier.log'), {
      nodeArgs: options.serverNodeArgs,
      compiled: options.serverCompiled,
    });
    servers.verifier = verifier;
    servers.pinned = verifier;
    const prime = await timedCheck(verifier.url, body);
    if (prime.status !== 200) throw new Error(`the verifier did not verify the pod (${prime.status}): ${prime.text}`);
    const pinnedAnswer = await timedCheck(verifier.url, pinnedBody);
    if (pinnedAnswer.text !== prime.text) throw new Error(`the pinned pod got a different answer (${pinnedAnswer.status}): ${pinnedAnswer.text}`);
    const { self: idleRss, children: idleChildrenRss } = rssWithChildren(verifier.pid);
    log(`cached: primed the cache in ${prime.ms.toFixed(0)} ms (${(await verifier.stats()).notationRuns} notation runs); response ${prime.text.length} bytes`);
    const standins = await startServer({ kind: 'standins', flags: [] }, join(dir, 'cached-standins.log'), {
      nodeArgs: options.serverNodeArgs,
      compiled: options.serverCompiled,
    });
    servers.standins = standins;
    const standinAnswer = await timedCheck(standins.url, body);
    if (standinAnswer.status !== 200 || standinAnswer.text.length !== prime.text.length) {
      throw new Error(`the stand-in server answered ${standinAnswer.status} with ${standinAnswer.text.length} bytes, not ${prime.text.length}`);
    }
    const bare = await startServer({ kind: 'bare', responseBody: prime.text }, join(dir, 'cached-bare.log'), {
      nodeArgs: options.serverNodeArgs,
      compiled: options.serverCompiled,
    });
    servers.bare = bare;
    const tagCached = await startServer(
      { kind: 'verifier', flags: [...fixtures.verifierFlags, `--tagCacheTTLSeconds=${TAG_CACHE_TTL_SECONDS}`], env: fixtures.verifierEnv },
      join(dir, 'cached-tagcached.log'),
      { nodeArgs: options.serverNodeArgs, compiled: options.serverCompiled },
    );
    servers.tagCached = tagCached;
    const tagCachedAnswer = await timedCheck(tagCached.url, body);
    if (tagCachedAnswer.text !== prime.text) throw new Error(`the verifier with a tag cache answered ${tagCachedAnswer.status}: ${tagCachedAnswer.text}`);

    const bodyOf = (name: keyof typeof servers) => (name === 'pinned' ? pinnedBody : body);
    const load = (name: keyof typeof servers, server: ServerProcess, durationSeconds: number, connections = CONNECTIONS) =>
      runLoad({ url: server.url, connections, durationSeconds, body: bodyOf(name) }, server.pid);
    for (const [name, server] of [
      ['bare', bare],
      ['verifier', verifier],
      ['standins', standins],
      ['pinned', verifier],
      ['tagCached', tagCached],
    ] as const) {
      const warm = await load(name, server, 3);
      log(`cached: warm-up ${name}: ${warm.rps.toFixed(0)} req/s`);
    }
    const runsBefore = (await verifier.stats()).notationRuns;
    /** RSS of the verifier process right after each of its 50-connection runs. */
    const loadedRss: number[] = [];
    /** RSS of its child processes (the notation helper) at the same moments. */
    const loadedChildrenRss: number[] = [];

    const order = ['bare', 'verifier', 'standins', 'pinned', 'tagCached'] as const;
    const measured: Record<(typeof order)[number], MeasuredLoad[]> = { bare: [], verifier: [], standins: [], pinned: [], tagCached: [] };
    const unloaded: Record<(typeof order)[number], MeasuredLoad[]> = { bare: [], verifier: [], standins: [], pinned: [], tagCached: [] };
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < order.length; k++) {
        const name = order[(round + k) % order.length] ?? 'bare';
        const server = servers[name];
        if (!server) continue;
        const m = await load(name, server, options.durationSeconds);
        if (m.non2xx > 0 || m.errors > 0) throw new Error(`cached: ${name} answered ${m.non2xx} non-2xx and had ${m.errors} errors in round ${round + 1}`);
        measured[name].push(m);
        if (name === 'verifier' || name === 'pinned') {
          const rss = rssWithChildren(server.pid);
          loadedRss.push(rss.self);
          loadedChildrenRss.push(rss.children);
        }
        const r = await load(name, server, UNLOADED_SECONDS, UNLOADED_CONNECTIONS);
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`cached: ${name} answered ${r.non2xx} non-2xx and had ${r.errors} errors with one connection`);
        unloaded[name].push(r);
        log(
          `cached: round ${round + 1} ${name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, ` +
            `server CPU ${(m.serverCpuSeconds / m.durationSeconds).toFixed(2)} cores, client CPU ${(m.clientCpuSeconds / m.durationSeconds).toFixed(2)} cores; ` +
            `one connection: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
        );
      }
    }
    const after = await verifier.stats();
    const notationRunsDuringLoad = after.notationRuns - runsBefore;

    const rps = (name: keyof typeof measured) => measured[name].map((m) => m.rps);
    const p99 = (name: keyof typeof measured) => summarize(measured[name].map((m) => m.p99));
    const ratio = summarize(ratios(rps('verifier'), rps('bare')));
    const standinRatio = summarize(ratios(rps('standins'), rps('bare')));
    const pinnedRatio = summarize(ratios(rps('pinned'), rps('bare')));
    const cores = (name: keyof typeof measured, side: 'serverCpuSeconds' | 'clientCpuSeconds') =>
      summarize(measured[name].map((m) => m[side] / m.durationSeconds));
    const row = (name: keyof typeof measured, label: string) =>
      `| ${label} | ${formatSummary(summarize(rps(name)), 0)} | ${formatSummary(summarize(measured[name].map((m) => m.p50)))} | ${formatSummary(p99(name))} | ${formatSummary(cores(name, 'serverCpuSeconds'))} | ${formatSummary(cores(name, 'clientCpuSeconds'))} |`;
    // Server CPU per answered request at saturation: the cost that throughput measures, without the
    // noise of what else the machine runs (a server that gets less than a core answers less).
    const cpuOf = (name: keyof typeof measured) => measured[name].map((m) => (m.serverCpuSeconds * 1e6) / (m.rps * m.durationSeconds));
    const cpuPerRequest = (name: keyof typeof measured) => formatSummary(summarize(cpuOf(name)), 0);
    const cpuRatio = summarize(ratios(cpuOf('bare'), cpuOf('verifier')));
    const standinCpuRatio = summarize(ratios(cpuOf('bare'), cpuOf('standins')));
    const unloadedRow = (name: keyof typeof measured, label: string) =>
      `| ${label} | ${formatSummary(summarize(unloaded[name].map((m) => m.p50)))} | ${formatSummary(summarize(unloaded[name].map((m) => m.p99)))} | ${cpuPerRequest(name)} |`;
    return {
      name: 'cached',
      target: 'cached /checkimages, 3-container pod: ≥ 50% of a bare Fastify route’s throughput; p99 < 5 ms at 50 connections',
      verdicts: [
        { clause: 'throughput ≥ 0.50 × bare Fastify', met: ratio.median >= 0.5, measured: `${formatSummary(ratio)} ×` },
        { clause: 'p99 < 5 ms at 50 connections', met: p99('verifier').median < 5, measured: formatSummary(p99('verifier'), 2, ' ms') },
        { clause: 'pod pinned by digest: throughput ≥ 0.50 × bare Fastify', met: pinnedRatio.median >= 0.5, measured: `${formatSummary(pinnedRatio)} ×` },
        { clause: 'pod pinned by digest: p99 < 5 ms at 50 connections', met: p99('pinned').median < 5, measured: formatSummary(p99('pinned'), 2, ' ms') },
      ],
      details: [
        `${options.rounds} rounds × ${options.durationSeconds} s per server, ${CONNECTIONS} connections, request ${body.length} bytes, response ${prime.text.length} bytes; medians (min–max):`,
        '',
        '| server | req/s | p50 ms | p99 ms | server CPU (cores) | load generator CPU (cores) |',
        '|---|---|---|---|---|---|',
        row('bare', 'bare Fastify route'),
        row('verifier', 'verifier (real registry client)'),
        row('standins', 'verifier, registry stand-in'),
        row('pinned', 'verifier, pod pinned by digest'),
        row('tagCached', `verifier, --tagCacheTTLSeconds=${TAG_CACHE_TTL_SECONDS}`),
        '',
        `The same servers with ${UNLOADED_CONNECTIONS} connection (one request at a time, ${UNLOADED_SECONDS} s per round), and the server CPU per request at saturation:`,
        '',
        '| server | p50 ms, one connection | p99 ms, one connection | server CPU µs per request (saturated) |',
        '|---|---|---|---|',
        unloadedRow('bare', 'bare Fastify route'),
        unloadedRow('verifier', 'verifier (real registry client)'),
        unloadedRow('standins', 'verifier, registry stand-in'),
        unloadedRow('pinned', 'verifier, pod pinned by digest'),
        unloadedRow('tagCached', `verifier, --tagCacheTTLSeconds=${TAG_CACHE_TTL_SECONDS}`),
        '',
        `Throughput ratio to bare, pairwise per round: verifier ${formatSummary(ratio)}; verifier with the registry stand-in ${formatSummary(standinRatio)}; pinned by digest ${formatSummary(pinnedRatio)}; ` +
          `p99 with the stand-in ${formatSummary(p99('standins'), 2, ' ms')}.`,
        `CPU-per-request ratio (bare ÷ server, the throughput ratio each would reach on an equal core): verifier ${formatSummary(cpuRatio)}; with the registry stand-in ${formatSummary(standinCpuRatio)}.`,
        `RSS of the verifier process: ${(idleRss / MiB).toFixed(0)} MiB idle (started, cache primed, before any load); ` +
          `${formatSummary(summarize(loadedRss.map((b) => b / MiB)), 0, ' MiB')} right after each of its 50-connection runs ` +
          `(${options.serverCompiled ? 'compiled JavaScript; tsx only for the benchmark shim' : 'under tsx'}); ` +
          `its child processes (the resident notation helper): ${(idleChildrenRss / MiB).toFixed(1)} MiB idle, ` +
          `${formatSummary(summarize(loadedChildrenRss.map((b) => b / MiB)), 1, ' MiB')} after the runs.`,
        `notation runs during the measured load: ${notationRunsDuringLoad} (every answer came from the cache: ${after.cacheHits} hits, ${after.cacheMisses} misses in all).`,
      ],
      data: {
        idleRss,
        loadedRss,
        idleChildrenRss,
        loadedChildrenRss,
        measured,
        unloaded,
        ratio,
        cpuRatio,
        standinCpuRatio,
        standinRatio,
        notationRunsDuringLoad,
        requestBytes: body.length,
        responseBytes: prime.text.length,
      },
    };
  } finally {
    // `pinned` is the verifier process again: stop each process once.
    await Promise.all([...new Set(Object.values(servers))].flatMap((s) => (s ? [s.stop()] : [])));
  }
}
