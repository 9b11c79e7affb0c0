// Not a target: where the CPU of a cached /checkimages answer goes. A ladder from the bare route to
// the stand-in verifier (real listener, pipeline, cache, answer, metrics; registry and notation
// stand-ins): the bare route, the verifier's HTTP layer (its plugins) around a fixed pipeline result
// without and with its log line and metrics, then the real thing, and the real thing without its log
// line and metrics. Each is
// saturated by 50 connections; the server's CPU per answered request is the measure.
import { join } from 'node:path';
import { podRequest, timedCheck } from './fixtures.js';
import { runLoad } from './loadClient.js';
import type { BenchOptions, BenchReport } from './report.js';
import { startServer, type ServerProcess } from './servers.js';
import { formatSummary, summarize } from './stats.js';
import type { ServerConfig } from './serve.js';

const VARIANTS: readonly { readonly name: string; readonly config: (response: string) => ServerConfig }[] = [
  { name: 'bare Fastify route', config: (responseBody) => ({ kind: 'bare', responseBody }) },
  {
    name: '+ the verifier’s HTTP layer (server options, under-pressure, body parser, auth hook, schemas, deadline, answer), no pipeline',
    config: (responseBody) => ({ kind: 'http', responseBody, logged: false }),
  },
  { name: '+ request log line and metrics (no pipeline)', config: (responseBody) => ({ kind: 'http', responseBody, logged: true }) },
  { name: 'the stand-in verifier (+ pipeline, cache, answer, metrics)', config: () => ({ kind: 'standins', flags: [] }) },
  { name: 'the stand-in verifier without request log line and metrics', config: () => ({ kind: 'standins', flags: ['--logLevel=warn'], metrics: false }) },
];

export async function benchAblate(options: BenchOptions & { durationSeconds: number }): Promise<BenchReport> {
  // The stand-in resolver never contacts the registry these images name.
  const body = podRequest([0, 1, 2].map((i) => ({ registry: 'registry.bench.example', path: `bench/cached-${i}`, tag: 'v1', digest: '' })));
  const servers: ServerProcess[] = [];
  try {
    const probe = await startServer({ kind: 'standins', flags: [] }, join(options.dir, 'ablate-probe.log'));
    servers.push(probe);
    const response = (await timedCheck(probe.url, body)).text;
    for (const [i, v] of VARIANTS.entries())
      servers.push(
        await startServer(v.config(response), join(options.dir, `ablate-${i}.log`), { nodeArgs: options.serverNodeArgs, compiled: options.serverCompiled }),
      );
    const variants = servers.slice(1);
    for (const s of variants) await runLoad({ url: s.url, connections: 50, durationSeconds: 2, body }, s.pid);
    const cpu: number[][] = VARIANTS.map(() => []);
    const rps: number[][] = VARIANTS.map(() => []);
    const rounds = Math.min(options.rounds, 3);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < variants.length; k++) {
        const i = (round + k) % variants.length;
        const server = variants[i];
        if (!server) continue;
        const m = await runLoad({ url: server.url, connections: 50, durationSeconds: options.durationSeconds, body }, server.pid);
        if (m.non2xx > 0 || m.errors > 0) throw new Error(`ablate: ${VARIANTS[i]?.name}: ${m.non2xx} non-2xx, ${m.errors} errors`);
        cpu[i]?.push((m.serverCpuSeconds * 1e6) / m.ok);
        rps[i]?.push(m.rps);
        options.log(
          `ablate: round ${round + 1} ${VARIANTS[i]?.name}: ${m.rps.toFixed(0)} req/s, ${((m.serverCpuSeconds * 1e6) / m.ok).toFixed(0)} µs server CPU per request`,
        );
      }
    }
    return {
      name: 'ablate',
      target: 'diagnostic: server CPU per cached 3-container answer, with pieces taken away (registry stand-in)',
      verdicts: [],
      details: [
        `${rounds} rounds × ${options.durationSeconds} s per variant, 50 connections.`,
        '',
        '| server | server CPU µs per request | req/s |',
        '|---|---|---|',
        ...VARIANTS.map((v, i) => `| ${v.name} | ${formatSummary(summarize(cpu[i] ?? []), 0)} | ${formatSummary(summarize(rps[i] ?? []), 0)} |`),
      ],
      data: { variants: VARIANTS.map((v, i) => ({ name: v.name, cpuMicros: cpu[i], rps: rps[i] })) },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
