// `pnpm bench -- original`: this verifier against the original service v1.1 (built by `pnpm tools
// original`), both in the same run on the same machine, measured alternately, as ratios:
//   cached single image    one connection, one container by tag: p50 / p99;
//   cached 3-container pod throughput and p99 at 10 and 50 connections, by digest and by tag;
//   uncached single image  wall time of a request for an image neither service has seen (a fresh
//                          signed image per request, so neither cache can answer).
// Both run against the compat environment (verifier/compat/environment.ts): one TLS registry, the
// same AWS Signer plugin, fake AWS Signer API, trust policy and plugin configuration, inside the
// isolated run. Token review is off on both (--reviewKyvernoToken=false): the original sends one
// TokenReview per request, which would measure the API server rather than the verification path.
import { join } from 'node:path';
import { startEnvironment, POLICY, type Environment, type Image } from '../compat/environment.js';
import { runLoad, type MeasuredLoad } from './loadClient.js';
import { timedCheck } from './fixtures.js';
import { rssWithChildren } from './proc.js';
import { MiB, type BenchOptions, type BenchReport } from './report.js';
import { startServer, type ServerProcess } from './servers.js';
import { formatSummary, ratios, summarize, type Summary } from './stats.js';

type Service = 'original' | 'ours';
const SERVICES: readonly Service[] = ['original', 'ours'];
const POD_CONNECTIONS = [10, 50] as const;
const SINGLE_SECONDS = 3;

function podBody(images: readonly Image[], by: 'tag' | 'digest'): string {
  const containers = Object.fromEntries(
    images.map((image, i) => [
      `c${i}`,
      {
        registry: image.registry,
        path: image.path,
        name: image.path.split('/').at(-1),
        ...(by === 'tag' ? { tag: image.tag } : { digest: image.digest }),
        jsonPointer: `/spec/containers/${i}/image`,
      },
    ]),
  );
  return JSON.stringify({ images: { containers }, trustPolicy: POLICY.default });
}

function revocationCalls(env: Environment): number {
  return env.harness.signer?.requests.filter((r) => r.operation === 'GetRevocationStatus').length ?? 0;
}

interface Target {
  readonly url: string;
  readonly pid: number;
}

export async function benchOriginal(options: BenchOptions & { durationSeconds: number; verifierFlags: readonly string[] }): Promise<BenchReport> {
  const { log, dir } = options;
  let env: Environment | undefined;
  let ours: ServerProcess | undefined;
  try {
    env = await startEnvironment({ dir: join(dir, 'original-env'), log, originalArgs: ['--reviewKyvernoToken=false'] });
    // This verifier in a process of its own (as every server under test is), with the same flags, running
    // the very plugin file the original runs (its copy in its NOTATION_DIR): an executable's start-up cost
    // depends on how its file was written (the linker's output in the tool cache starts ≈ 0.3 ms slower than
    // a copy of it, docs/benchmarks.md), and that is not what this benchmark compares.
    const plugins = [`--notationLibexec=${env.original.notationDir}`];
    ours = await startServer(
      { kind: 'verifier', flags: [...env.verifierFlags, '--reviewKyvernoToken=false', ...plugins, ...options.verifierFlags], env: env.verifierEnv },
      join(dir, 'original-ours.log'),
      { nodeArgs: options.serverNodeArgs, compiled: options.serverCompiled },
    );
    const targets: Record<Service, Target> = { original: { url: env.original.url, pid: env.original.pid }, ours: { url: ours.url, pid: ours.pid } };
    const e = env;

    log('original: pushing and signing the images');
    const pod = [await e.pushImage('bench/pod-a', 'v1'), await e.pushImage('bench/pod-b', 'v1'), await e.pushImage('bench/pod-c', 'v1')];
    const single = pod.slice(0, 1);
    const uncachedPairs = options.rounds * 2;
    const fresh: Record<Service, Image[]> = { original: [], ours: [] };
    for (let i = 0; i < uncachedPairs + 1; i++) {
      for (const s of SERVICES) fresh[s].push(await e.pushImage(`bench/fresh-${s}-${i}`, 'v1'));
    }

    const bodies = { single: podBody(single, 'tag'), singleDigest: podBody(single, 'digest'), tag: podBody(pod, 'tag'), digest: podBody(pod, 'digest') };
    // Prime both caches and check that both verify the same pod the same way.
    const answers: Record<Service, string> = { original: '', ours: '' };
    for (const s of SERVICES) {
      for (const body of Object.values(bodies)) {
        const res = await timedCheck(targets[s].url, body);
        if (res.status !== 200) throw new Error(`original bench: ${s} answered ${res.status}: ${res.text}`);
      }
      answers[s] = JSON.stringify((JSON.parse((await timedCheck(targets[s].url, bodies.tag)).text) as { results: unknown[] }).results.length);
    }
    if (answers.original !== answers.ours) throw new Error(`the services patch different numbers of containers: ${JSON.stringify(answers)}`);

    const load = (s: Service, body: string, connections: number, durationSeconds: number) =>
      runLoad({ url: targets[s].url, connections, durationSeconds, body }, targets[s].pid);
    for (const s of SERVICES) {
      const warm = await load(s, bodies.tag, 10, 3);
      log(`original: warm-up ${s}: ${warm.rps.toFixed(0)} req/s`);
    }

    type Key = `pod-${'tag' | 'digest'}-${10 | 50}` | 'single' | 'single-digest';
    const keys: Key[] = ['single', 'single-digest', ...POD_CONNECTIONS.flatMap((c) => [`pod-digest-${c}` as const, `pod-tag-${c}` as const])];
    const measured: Record<Service, Record<string, MeasuredLoad[]>> = { original: {}, ours: {} };
    for (let round = 0; round < options.rounds; round++) {
      for (const key of keys) {
        // Alternate which service goes first, round by round.
        const order = round % 2 === 0 ? SERVICES : [...SERVICES].reverse();
        for (const s of order) {
          const m =
            key === 'single' || key === 'single-digest'
              ? await load(s, key === 'single' ? bodies.single : bodies.singleDigest, 1, SINGLE_SECONDS)
              : await load(s, key.startsWith('pod-tag') ? bodies.tag : bodies.digest, Number(key.split('-')[2]), options.durationSeconds);
          if (m.non2xx > 0 || m.errors > 0) throw new Error(`original bench: ${s} ${key}: ${m.non2xx} non-2xx, ${m.errors} errors`);
          (measured[s][key] ??= []).push(m);
          log(
            `original: round ${round + 1} ${key} ${s}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, server CPU ${(m.serverCpuSeconds / m.durationSeconds).toFixed(2)} cores`,
          );
        }
      }
    }

    // Resident memory right after the last cached load, each service with what it has started (the helper).
    const memory = Object.fromEntries(SERVICES.map((s) => [s, rssWithChildren(targets[s].pid)])) as Record<Service, { self: number; children: number }>;
    const mib = (s: Service) =>
      `${((memory[s].self + memory[s].children) / MiB).toFixed(1)} MiB (${(memory[s].self / MiB).toFixed(1)} + ${(memory[s].children / MiB).toFixed(1)} of children)`;

    // Uncached: a fresh signed image per request, alternating which service goes first.
    const uncached: Record<Service, number[]> = { original: [], ours: [] };
    for (const s of SERVICES) await timedCheck(targets[s].url, podBody(fresh[s].slice(0, 1), 'tag')); // warm the code paths
    for (let i = 1; i <= uncachedPairs; i++) {
      const order = i % 2 === 0 ? SERVICES : [...SERVICES].reverse();
      for (const s of order) {
        // Checked, not assumed: an uncached verification asks the (fake) AWS Signer API for the
        // signature's revocation status through the plugin; a cached answer does not.
        const revocationsBefore = revocationCalls(e);
        const res = await timedCheck(targets[s].url, podBody(fresh[s].slice(i, i + 1), 'tag'));
        if (res.status !== 200) throw new Error(`original bench: uncached ${s} answered ${res.status}: ${res.text}`);
        if (revocationCalls(e) === revocationsBefore) throw new Error(`original bench: ${s} answered a fresh image without a revocation check`);
        uncached[s].push(res.ms);
      }
      log(`original: uncached ${i}/${uncachedPairs}: original ${uncached.original.at(-1)?.toFixed(0)} ms, ours ${uncached.ours.at(-1)?.toFixed(0)} ms`);
    }

    const of = (s: Service, key: string, pick: (m: MeasuredLoad) => number) => (measured[s][key] ?? []).map(pick);
    const ratio = (key: string, pick: (m: MeasuredLoad) => number, inverse = false): Summary =>
      summarize(inverse ? ratios(of('original', key, pick), of('ours', key, pick)) : ratios(of('ours', key, pick), of('original', key, pick)));
    const rps = (m: MeasuredLoad) => m.rps;
    const p50 = (m: MeasuredLoad) => m.p50;
    const p99 = (m: MeasuredLoad) => m.p99;
    const cpuPerRequest = (m: MeasuredLoad) => (m.serverCpuSeconds * 1e6) / Math.max(1, m.rps * m.durationSeconds);
    const f = (s: Summary, digits = 2, unit = '') => formatSummary(s, digits, unit);
    const podRows = POD_CONNECTIONS.flatMap((c) =>
      (['digest', 'tag'] as const).map((by) => {
        const key = `pod-${by}-${c}`;
        return `| 3-container pod by ${by}, ${c} connections | ${f(summarize(of('original', key, rps)), 0)} | ${f(summarize(of('ours', key, rps)), 0)} | **${f(ratio(key, rps))}** | ${f(summarize(of('original', key, p99)))} | ${f(summarize(of('ours', key, p99)))} | ${f(summarize(of('original', key, cpuPerRequest)), 0)} / ${f(summarize(of('ours', key, cpuPerRequest)), 0)} |`;
      }),
    );
    const uncachedRatio = summarize(ratios(uncached.ours, uncached.original));
    const throughput50 = ratio('pod-digest-50', rps);
    const throughputTag50 = ratio('pod-tag-50', rps);
    return {
      name: 'original',
      target: 'against the original v1.1 in the same run: cached answers ≥ 2 × its throughput, uncached no slower',
      verdicts: [
        { clause: "cached pod by digest, 50 connections: ≥ 2 × the original's throughput", met: throughput50.median >= 2, measured: `${f(throughput50)} ×` },
        { clause: "cached pod by tag, 50 connections: ≥ 2 × the original's throughput", met: throughputTag50.median >= 2, measured: `${f(throughputTag50)} ×` },
        {
          clause: 'uncached single image: no slower than the original (ours ÷ original ≤ 1)',
          met: uncachedRatio.median <= 1,
          measured: `${f(uncachedRatio)} ×`,
        },
      ],
      details: [
        `${options.rounds} rounds, the two services alternating within each measurement; pods ${options.durationSeconds} s per run, the single image ${SINGLE_SECONDS} s with one connection. ` +
          'Both run on the same TLS registry, with the same AWS Signer plugin and trust policy, token review off. Medians (min–max):',
        '',
        '| cached | original req/s | this verifier req/s | ratio (ours ÷ original) | original p99 ms | this verifier p99 ms | server CPU µs per request (original / ours) |',
        '|---|---|---|---|---|---|---|',
        ...podRows,
        '',
        '| cached single image, one connection | original | this verifier | ratio (ours ÷ original) |',
        '|---|---|---|---|',
        ...(['single', 'single-digest'] as const).flatMap((key) => {
          const by = key === 'single' ? 'by tag' : 'by digest';
          return [
            `| ${by}: p50 ms | ${f(summarize(of('original', key, p50)))} | ${f(summarize(of('ours', key, p50)))} | ${f(ratio(key, p50))} |`,
            `| ${by}: p99 ms | ${f(summarize(of('original', key, p99)))} | ${f(summarize(of('ours', key, p99)))} | ${f(ratio(key, p99))} |`,
          ];
        }),
        '',
        `Uncached single image (a fresh signed image per request, ${uncachedPairs} pairs): original ${f(summarize(uncached.original), 0, ' ms')}, ` +
          `this verifier ${f(summarize(uncached.ours), 0, ' ms')}; ratio ours ÷ original ${f(uncachedRatio)}.`,
        `The original caches by the reference as written, so its "by tag" answers come from the cache without a registry round trip; this verifier resolves every tag on every request (a moved tag must never pass on an old verdict).`,
        '',
        `Resident memory (VmRSS) right after the last cached load, with the processes each has started: original ${mib('original')}, this verifier ${mib('ours')}; ` +
          `ratio ${((memory.ours.self + memory.ours.children) / (memory.original.self + memory.original.children)).toFixed(2)}. ` +
          (options.serverCompiled
            ? "This verifier runs here under the benchmark's TypeScript shim, without the image entrypoint's heap flags: its production figure is `pnpm bench -- memory`'s."
            : 'This verifier runs here under tsx (not its production form; `pnpm bench -- memory` measures that).'),
      ],
      data: { measured, uncached, memory },
    };
  } finally {
    await ours?.stop();
    await env?.stop();
  }
}
