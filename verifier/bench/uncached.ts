// Targets 2 and 3 (docs/benchmarks.md): what a cache miss costs.
//   uncached  one image: the verifier's wall time for /checkimages (cache cleared before each request,
//             so notation runs) against a bare `notation verify` of the same digest, in alternating
//             order, pairwise;
//   pod       a pod of 8 distinct images against the single-image request (both uncached), and a pod
//             of 8 containers of one image, which must start exactly one notation run.
// The verifier runs in its own process; requests are sent one at a time from this process, so the
// client costs a fetch per measurement, nothing next to a notation run.
import { join } from 'node:path';
import { bareNotationVerify, podRequest, pushSigned, timedCheck, type BareRun, type Fixtures, type PodImage } from './fixtures.js';
import { cpuSeconds, machine } from './proc.js';
import type { BenchOptions, BenchReport } from './report.js';
import { startServer, type ServerProcess } from './servers.js';
import { formatSummary, median, ratios, summarize } from './stats.js';

interface ServiceRun {
  readonly ms: number;
  /** notation's own duration inside the service (from the runner), ms. */
  readonly notationMs: number;
  readonly runs: number;
  /** CPU seconds of the notation processes (and their plugins) the request started. */
  readonly notationCpuSeconds: number;
}

async function uncachedRequest(server: ServerProcess, images: readonly PodImage[]): Promise<ServiceRun> {
  await server.clearCache();
  const before = await server.stats();
  const cpuBefore = cpuSeconds(server.pid).children;
  const res = await timedCheck(server.url, podRequest(images));
  if (res.status !== 200) throw new Error(`the verifier answered ${res.status}: ${res.text}`);
  const after = await server.stats();
  const runs = after.notationRuns - before.notationRuns;
  return {
    ms: res.ms,
    notationMs: Math.max(0, ...after.notationMs.slice(-Math.max(runs, 1))),
    runs,
    notationCpuSeconds: cpuSeconds(server.pid).children - cpuBefore,
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
  });
  // The same pod through a verifier that runs one notation at a time: what "parallel, not serial" buys here.
  const serial = await startServer(
    { kind: 'verifier', flags: [...fixtures.verifierFlags, '--maxConcurrentVerifications=1'], env: fixtures.verifierEnv },
    join(options.dir, 'pod-serial-verifier.log'),
    { nodeArgs: options.serverNodeArgs },
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
