// A server under test, in its own process (started by servers.ts): the clients that load it run in
// other processes, so they never take its event loop. Four kinds:
//   bare      a bare Fastify route answering POST /checkimages with a fixed JSON body (the yardstick);
//   http      the verifier's HTTP layer (the same plugins) around a fixed pipeline result (ablate.ts);
//   standins  the real request listener, pipeline, cache, metrics and logger (buildServer), with the
//             pipeline's two edges, the registry and notation, replaced by instant stand-ins;
//   verifier  the real verifier (startVerifier, local mode) with its real registry client and notation.
// The parent controls it over the IPC channel: stats (notation runs, cache, memory), liveHeap (stats
// after a full collection), clearCache, close.
// Logs go to stdout, which the parent points at a file: the production logger, at its real cost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogger, pressureLimits, startVerifier } from '../src/app.js';
import { BundleStore } from '../src/bundle/store.js';
import { VerdictCache } from '../src/cache/verdicts.js';
import { SignatureCheck } from '../src/signature/check.js';
import { parseFlags } from '../src/config/flags.js';
import { buildServer, checkImagesApi, serverOptions } from '../src/http/server.js';
import type { PipelineResult } from '../src/pipeline/checkImages.js';
import { VerifierMetrics } from '../src/metrics.js';
import { skipPolicyBundle } from '../testkit/standins.js';
import { FailureKind, VerifyOutcome } from '../src/notation/classify.js';

export type ServerConfig =
  | { readonly kind: 'bare'; readonly responseBody: string }
  /** ablate.ts: the verifier's HTTP layer without the pipeline (httpLayer below). */
  | { readonly kind: 'http'; readonly responseBody: string; readonly logged: boolean }
  | { readonly kind: 'standins'; readonly flags: readonly string[]; /** Prometheus metrics (default true). */ readonly metrics?: boolean }
  | { readonly kind: 'verifier'; readonly flags: readonly string[]; readonly env: Readonly<Record<string, string>> };

/** `liveHeap`: a full garbage collection (the server runs with --expose-gc), then stats. */
export type Command = { readonly id: number; readonly cmd: 'stats' | 'liveHeap' | 'clearCache' | 'close' };

export interface ServerStats {
  /** notation runs so far (real runs for `verifier`, stand-in calls for `standins`). */
  readonly notationRuns: number;
  readonly cacheEntries: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers and their ArrayBuffers). */
  readonly externalBytes: number;
  readonly rssBytes: number;
  /** Durations of the last notation runs inside the server, ms (`verifier` only; waiting for a slot included). */
  readonly notationMs: readonly number[];
}

export type Message =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'reply'; readonly id: number; readonly stats?: ServerStats }
  | { readonly type: 'failed'; readonly error: string };

/** The policy the `standins` server selects; its level does not matter, notation is a stand-in. */
export const STANDIN_POLICY = 'bench';

/**
 * A digest per image reference, as distinct images in a registry would have, without the cost of
 * hashing (a stand-in must not be what the benchmark measures): the hex of the reference's last 32
 * characters, which differ between the references the benchmarks send.
 */
function standInDigest(reference: string): string {
  const hex = Buffer.from(reference.slice(-32), 'latin1').toString('hex');
  return `sha256:${hex.padStart(64, '0')}`;
}

interface Running {
  readonly url: string;
  stats(): ServerStats;
  clearCache(): void;
  close(): Promise<void>;
}

function memory(): Pick<ServerStats, 'heapUsedBytes' | 'heapTotalBytes' | 'externalBytes' | 'rssBytes'> {
  const m = process.memoryUsage();
  return { heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, rssBytes: m.rss };
}

async function bare(responseBody: string): Promise<Running> {
  const app = Fastify({ logger: false });
  app.post('/checkimages', async (_request, reply) => reply.type('application/json; charset=utf-8').send(responseBody));
  return running(app);
}

/**
 * The verifier's HTTP layer (server options and the checkImagesApi plugin: load shedding, body parser,
 * authentication hook, request schema, deadline, answer and its response schema), registered as the
 * verifier registers it, with the pipeline replaced by a fixed result that answers `responseBody`.
 * `logged`: the production logger at info (one line per request) and Prometheus metrics; otherwise the
 * logger at warn and no metrics.
 */
async function httpLayer(responseBody: string, logged: boolean): Promise<Running> {
  const result = fixedResult(responseBody);
  const limits = { requestTimeoutMs: 30_000, maxRequestBytes: 1 << 20 };
  const app = Fastify(serverOptions({ ...limits, logger: createLogger(logged ? 'info' : 'warn') }));
  await app.register(checkImagesApi, {
    ...limits,
    check: () => Promise.resolve(result),
    // An authentication hook that admits every caller, so that the hook's cost is measured.
    authenticator: { authenticate: () => Promise.resolve() },
    onInfraError: 'deny',
    pressure: { maxEventLoopDelayMs: 3_000, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0 },
    ...(logged && { metrics: new VerifierMetrics() }),
  });
  return running(app);
}

/** A pipeline result whose answer is `responseBody` (a 200 with patches): one verified image per patch. */
function fixedResult(responseBody: string): PipelineResult {
  const { results } = JSON.parse(responseBody) as { results: { path: string; value: string }[] };
  return {
    trustPolicy: STANDIN_POLICY,
    policyVersion: 'c'.repeat(64),
    warnings: [],
    reports: results.map((patch, i) => ({
      group: 'containers',
      container: `c${i}`,
      image: patch.value,
      jsonPointer: patch.path,
      outcome: VerifyOutcome.Verified,
      reason: 'signature verified',
      digest: patch.value.slice(patch.value.indexOf('@') + 1),
      stage: 'signature',
      kind: FailureKind.None,
      warnings: [],
      cache: 'l1',
      pinned: patch.value,
    })),
  };
}

async function running(app: FastifyInstance): Promise<Running> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ notationRuns: 0, cacheEntries: 0, cacheHits: 0, cacheMisses: 0, notationMs: [], ...memory() }),
    clearCache: () => undefined,
    close: () => app.close(),
  };
}

async function standins(argv: readonly string[], withMetrics: boolean): Promise<Running> {
  const { flags } = parseFlags(argv);
  const workDir = mkdtempSync(join(tmpdir(), 'kna-bench-standins-'));
  const store = new BundleStore({ workDir });
  store.install(skipPolicyBundle(STANDIN_POLICY), 'bench');
  const cache = new VerdictCache({
    enabled: flags.cacheEnabled,
    maxEntries: flags.cacheMaxSize,
    ttlSeconds: flags.cacheTTLDurationSeconds,
    negativeTtlSeconds: flags.negativeCacheTTLSeconds,
  });
  let notationRuns = 0;
  const metrics = new VerifierMetrics();
  const app = await buildServer({
    pipeline: {
      bundle: () => store.current,
      resolver: {
        resolveDigest: (ref) =>
          Promise.resolve({
            digest: standInDigest(`${ref.registry}/${ref.repository}:${ref.tag ?? ''}@${ref.digest ?? ''}`),
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            size: 1024,
          }),
      },
      signatures: new SignatureCheck({
        notation: {
          verify: () => {
            notationRuns++;
            return Promise.resolve({
              outcome: VerifyOutcome.Verified,
              kind: FailureKind.None,
              reason: 'signature verified',
              warnings: [],
              durationMs: 0,
              exitCode: 0,
              stderr: '',
            });
          },
        },
        cache,
      }),
    },
    answer: { onInfraError: 'deny' },
    requestTimeoutMs: flags.verifyTimeoutSeconds * 1000,
    maxRequestBytes: flags.maxRequestBytes,
    pressure: pressureLimits(flags),
    logger: createLogger(flags.logLevel),
    ...(withMetrics && { metrics }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ notationRuns, cacheEntries: cache.size, cacheHits: cache.stats.hits, cacheMisses: cache.stats.misses, notationMs: [], ...memory() }),
    clearCache: () => cache.clear(),
    close: async () => {
      await app.close();
      store.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

async function verifier(argv: readonly string[], env: Readonly<Record<string, string>>): Promise<Running> {
  const { flags } = parseFlags(argv);
  const running = await startVerifier({ flags, env: { ...env }, logger: createLogger(flags.logLevel) });
  // Bench-only instrumentation: the pipeline calls runner.verify on this very object, so an own
  // property in front of the prototype's method sees every run and how long notation took.
  const runner = running.runner;
  const notationMs: number[] = [];
  const verify = runner.verify.bind(runner);
  runner.verify = async (request) => {
    const result = await verify(request);
    notationMs.push(result.durationMs);
    if (notationMs.length > 64) notationMs.shift();
    return result;
  };
  return {
    url: running.url,
    stats: () => ({
      notationRuns: running.runner.runs,
      cacheEntries: running.cache.size,
      cacheHits: running.cache.stats.hits,
      cacheMisses: running.cache.stats.misses,
      notationMs: [...notationMs],
      ...memory(),
    }),
    clearCache: () => running.cache.clear(),
    close: () => running.close(),
  };
}

function send(message: Message): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  const running =
    config.kind === 'bare'
      ? await bare(config.responseBody)
      : config.kind === 'http'
        ? await httpLayer(config.responseBody, config.logged)
        : config.kind === 'standins'
          ? await standins(config.flags, config.metrics ?? true)
          : await verifier(config.flags, config.env);
  process.on('message', (raw: Command) => {
    switch (raw.cmd) {
      case 'stats':
        send({ type: 'reply', id: raw.id, stats: running.stats() });
        break;
      case 'liveHeap':
        (globalThis as { gc?: () => void }).gc?.();
        send({ type: 'reply', id: raw.id, stats: running.stats() });
        break;
      case 'clearCache':
        running.clearCache();
        send({ type: 'reply', id: raw.id });
        break;
      case 'close':
        void running.close().finally(() => {
          send({ type: 'reply', id: raw.id });
          process.disconnect();
        });
        break;
    }
  });
  // The parent going away (a crash, ^C) must not leave the server behind.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: running.url });
}

main().catch((err: unknown) => {
  send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
