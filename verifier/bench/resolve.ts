// Not a target: what one tag → digest resolution costs, which every /checkimages request pays per
// image even when the verdict is cached (docs/architecture.md "The request pipeline"). The verifier's registry client resolves with
// HEAD through Node's fetch (undici); undici sends `Connection: close` with every HEAD request (it does
// not trust servers to send no body after HEAD), so each resolution opens a new TCP connection — and
// against a real registry over HTTPS, a new TLS handshake. This measures HEAD next to a GET of the same
// manifest (which keeps its connection) at the registry client's per-registry concurrency (16), from
// this process, against the harness's olareg.
import { push } from '@kna/e2e';
import type { Fixtures } from './fixtures.js';
import type { BenchOptions, BenchReport } from './report.js';
import { formatSummary, summarize } from './stats.js';

const CONCURRENCY = 16;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

interface Probe {
  readonly perSecond: number;
  /** CPU of this (client) process per resolution, µs. */
  readonly cpuMicros: number;
  /** The `Connection` header of the answers (`close`: the connection was not reused). */
  readonly connection: string;
}

async function probe(url: string, method: 'HEAD' | 'GET', seconds: number): Promise<Probe> {
  let count = 0;
  let connection = '';
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const res = await fetch(url, { method, headers: { accept: ACCEPT } });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${method} ${url}: ${res.status}`);
        connection = res.headers.get('connection') ?? 'keep-alive';
        count++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { perSecond: count / ((performance.now() - started) / 1000), cpuMicros: (used.user + used.system) / count, connection };
}

export async function benchResolve(fixtures: Fixtures, options: BenchOptions): Promise<BenchReport> {
  const ref = `${fixtures.harness.registry}/bench/resolve:v1`;
  await push(ref);
  const url = `http://${fixtures.harness.registry}/v2/bench/resolve/manifests/v1`;
  await probe(url, 'HEAD', 1);
  await probe(url, 'GET', 1);
  const head: Probe[] = [];
  const get: Probe[] = [];
  for (let round = 0; round < options.rounds; round++) {
    head.push(await probe(url, 'HEAD', 3));
    get.push(await probe(url, 'GET', 3));
    options.log(`resolve: round ${round + 1}: HEAD ${head.at(-1)?.perSecond.toFixed(0)}/s, GET ${get.at(-1)?.perSecond.toFixed(0)}/s`);
  }
  const row = (name: string, probes: readonly Probe[]) =>
    `| ${name} | ${formatSummary(summarize(probes.map((p) => p.perSecond)), 0)} | ${formatSummary(summarize(probes.map((p) => p.cpuMicros)), 0)} | ${probes[0]?.connection ?? ''} |`;
  return {
    name: 'resolve',
    target: 'diagnostic: the cost of one tag → digest resolution (HEAD, as the registry client does it, vs GET)',
    verdicts: [],
    details: [
      `${options.rounds} rounds × 3 s each, ${CONCURRENCY} concurrent loops of Node's fetch from the benchmark process against olareg on loopback.`,
      '',
      '| request | resolutions/s | client CPU µs per resolution | `Connection` in the answer |',
      '|---|---|---|---|',
      row('HEAD manifest (what the verifier does)', head),
      row('GET manifest (body read)', get),
    ],
    data: { head, get },
  };
}
