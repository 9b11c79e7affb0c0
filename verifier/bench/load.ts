// The load generator, in its own process (forked by loadClient.ts) so that it never shares an event
// loop with the server it measures. autocannon drives the connections; latencies are taken from
// autocannon's per-response event at full resolution (its own histogram keeps whole milliseconds,
// too coarse for a 5 ms target).
import autocannon from 'autocannon';

export interface LoadConfig {
  readonly url: string;
  readonly connections: number;
  /** Run for this long… */
  readonly durationSeconds?: number;
  /** …or until this many responses (takes precedence). */
  readonly amount?: number;
  /** The same body on every request… */
  readonly body?: string;
  /** …or these bodies in turn… */
  readonly bodies?: readonly string[];
  /** …or a one-container pod whose image cycles through `distinct` repositories (a new digest each). */
  readonly distinctImages?: { readonly distinct: number; readonly registry: string; readonly trustPolicy: string };
}

export interface LoadResult {
  readonly responses: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly durationSeconds: number;
  /** 2xx responses per second. */
  readonly rps: number;
  /** Latency percentiles of all responses, milliseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** CPU seconds the load generator itself used (it shares the machine with the server). */
  readonly clientCpuSeconds: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function distinctImageBody(i: number, options: NonNullable<LoadConfig['distinctImages']>): string {
  return `{"images":{"containers":{"app":{"registry":"${options.registry}","path":"bench/app-${i}","name":"app-${i}","tag":"v1","jsonPointer":"/spec/containers/0/image"}}},"trustPolicy":"${options.trustPolicy}"}`;
}

async function run(config: LoadConfig): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let sent = 0;
  const distinct = config.distinctImages;
  const bodies = config.bodies;
  const options: autocannon.Options = {
    url: `${config.url}/checkimages`,
    method: 'POST',
    connections: config.connections,
    headers: { 'content-type': 'application/json' },
    ...(config.amount !== undefined ? { amount: config.amount } : { duration: config.durationSeconds ?? 10 }),
    ...(config.body !== undefined && { body: config.body }),
    ...(bodies && {
      requests: [
        {
          setupRequest: (request: autocannon.Request) => {
            request.body = bodies[sent++ % bodies.length];
            return request;
          },
        },
      ],
    }),
    ...(distinct && {
      requests: [
        {
          setupRequest: (request: autocannon.Request) => {
            request.body = distinctImageBody(sent++ % distinct.distinct, distinct);
            return request;
          },
        },
      ],
    }),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, done: autocannon.Result) => {
      if (err) reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err }));
      else resolve(done);
    });
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = latencies.subarray(0, count).sort();
  return {
    responses: count,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
    rps: result['2xx'] / result.duration,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

// Run only when forked (loadClient.ts imports the types and distinctImageBody).
if (process.send && process.argv[2] === '--run') {
  // The benchmark going away (^C, a crash) ends the load at once.
  process.on('disconnect', () => process.exit(1));
  run(JSON.parse(process.argv[3] ?? '{}') as LoadConfig).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
