// `pnpm bench [-- <name>…] [--rounds N] [--duration S] [--out FILE]`: the verifier's performance
// targets (docs/benchmarks.md), measured as ratios in one run on this machine. docs/benchmarks.md says what
// each benchmark measures and how to read the numbers. Benchmarks, not tests: nothing here fails on a
// number; the report says which targets are met.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryPki, describeSignerPlugin, isIsolated, isolationUnavailable, originalBinary, rerunIsolated } from '@kna/e2e';
import { benchAblate } from './ablate.js';
import { benchCached } from './cached.js';
import { benchMemory } from './memory.js';
import { benchOriginal } from './original.js';
import { startFixtures, type Fixtures } from './fixtures.js';
import { machine } from './proc.js';
import type { BenchOptions, BenchReport } from './report.js';
import { benchResolve } from './resolve.js';
import { benchRss } from './rss.js';
import { benchBurst, benchPod, benchUncached } from './uncached.js';
import { benchRedis } from './redis.js';

const BENCHMARKS = ['cached', 'uncached', 'pod', 'burst', 'rss', 'memory', 'resolve', 'ablate', 'original', 'redis'] as const;
/** Run only when named: `original` needs `pnpm tools original`, root and an isolated run; `redis` is `pnpm bench:redis`. */
const OPT_IN: readonly Name[] = ['original', 'redis'];
type Name = (typeof BENCHMARKS)[number];

const USAGE = `usage: pnpm bench [-- [${BENCHMARKS.join('|')}]… [--rounds N] [--duration SECONDS] [--requests N] [--out FILE] [--keep] [--compiled] [--verifier-flag F]… [--cpu-prof DIR]]
  cached    target 1: cached /checkimages (3-container pod) vs a bare Fastify route, 50 connections
  uncached  target 2: uncached single image vs a bare \`notation verify\` of the same digest
  pod       target 3: 8 distinct images vs 1; 8 containers of one image → one notation run
  burst     cached answers (p50/p99) while 60 uncached images are verified at once; target p99 < 50 ms
  rss       target 4: RSS over 200k requests, 50k distinct digests, --cacheMaxSize=1000 (stand-in registry and notation)
  memory    diagnostic: RSS of the production verifier (entrypoint, compiled) and its notation helper, idle and after cached loads
  resolve   diagnostic: one tag → digest resolution, HEAD (as the verifier does) vs GET
  ablate    diagnostic: server CPU per cached answer, on a ladder from the bare route to the verifier
  original  (only when named) against the original service v1.1 (pnpm tools original), side by side, as ratios
  redis     (only when named) two verifiers sharing a redis-server: L1 hits, L2 only, Redis paused; notation runs per image
  --rounds N        repetitions of each measurement (default 5; rss and ablate: at most 3)
  --duration S      seconds of each load run per server and round in 'cached' (default 6)
  --requests N      requests per 'rss' run (default 200000)
  --out FILE        also write every number as JSON
  --keep            keep the scratch directory (server logs)
  --verifier-flag F add F to the flags of every real verifier started (repeatable, original included), e.g. --verifier-flag --notationEngine=helper
  --compiled        run the servers under test as compiled JavaScript (verifier/dist, after pnpm build), as production does
  --cpu-prof DIR    run the servers under test with --cpu-prof (a sample every 50 µs), profiles written to DIR`;

interface Args {
  names: Name[];
  rounds: number;
  duration: number;
  requests: number;
  out?: string;
  keep: boolean;
  compiled: boolean;
  /** Extra flags for every real verifier the benchmarks start. */
  verifierFlags: string[];
  cpuProf?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { names: [], rounds: 5, duration: 6, requests: 200_000, keep: false, compiled: false, verifierFlags: [] };
  const number = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') continue;
    if (arg === '--rounds') args.rounds = number(arg, argv[++i]);
    else if (arg === '--duration') args.duration = number(arg, argv[++i]);
    else if (arg === '--requests') args.requests = number(arg, argv[++i]);
    else if (arg === '--out') args.out = argv[++i] ?? '';
    else if (arg === '--keep') args.keep = true;
    else if (arg === '--compiled') args.compiled = true;
    else if (arg === '--verifier-flag') args.verifierFlags.push(argv[++i] ?? '');
    else if (arg === '--cpu-prof') args.cpuProf = argv[++i] ?? '';
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if ((BENCHMARKS as readonly string[]).includes(arg)) args.names.push(arg as Name);
    else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  if (args.names.length === 0) args.names = BENCHMARKS.filter((n) => !OPT_IN.includes(n));
  return args;
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

function printReport(reports: readonly BenchReport[]): void {
  console.log('\n## Verdicts\n');
  console.log('| benchmark | target | measured, median (min–max) | met |');
  console.log('|---|---|---|---|');
  for (const r of reports) for (const v of r.verdicts) console.log(`| ${r.name} | ${v.clause} | ${v.measured} | ${v.met ? 'yes' : '**no**'} |`);
  for (const r of reports) {
    console.log(`\n## ${r.name}: ${r.target}\n`);
    for (const line of r.details) console.log(line);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.names.includes('original') && !isIsolated()) {
    // The original binds fixed ports and needs a TLS registry: the whole run goes into private
    // namespaces (docs/compatibility.md), with the registry's CA trusted by Node.js and Go.
    originalBinary();
    const why = isolationUnavailable();
    if (why) throw new Error(`pnpm bench -- original ${why}`);
    const pkiDir = mkdtempSync(join(tmpdir(), 'kna-bench-pki-'));
    try {
      const pki = await createRegistryPki(pkiDir);
      process.exitCode = await rerunIsolated({ NODE_EXTRA_CA_CERTS: pki.caFile, SSL_CERT_FILE: pki.caFile });
    } finally {
      rmSync(pkiDir, { recursive: true, force: true });
    }
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kna-bench-'));
  const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const before = machine();
  log(`machine: ${before.cpu}, ${before.cores} cores, ${before.memoryGiB} GiB, Node ${before.node}; load average ${before.loadAverage}; commit ${commit()}`);
  log(`scratch directory ${dir}; benchmarks: ${args.names.join(', ')}; ${args.rounds} rounds`);

  let fixtures: Fixtures | undefined;
  const stop = async () => {
    await fixtures?.harness.stop();
    fixtures = undefined;
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    log('interrupted; stopping the harness');
    void stop().finally(() => process.exit(130));
  });

  const options: BenchOptions = {
    rounds: args.rounds,
    dir,
    log,
    serverNodeArgs: args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`, '--cpu-prof-interval=50'] : [],
    serverCompiled: args.compiled,
  };
  const reports: BenchReport[] = [];
  try {
    const needsHarness = args.names.some((n) => n !== 'rss' && n !== 'ablate' && n !== 'original');
    if (needsHarness) {
      log(`starting the signing harness (notation, olareg, fake AWS Signer API; ${describeSignerPlugin()})`);
      const started = await startFixtures(dir);
      fixtures = { ...started, verifierFlags: [...started.verifierFlags, ...args.verifierFlags] };
    }
    for (const name of args.names) {
      log(`--- ${name}`);
      switch (name) {
        case 'cached':
          if (fixtures) reports.push(await benchCached(fixtures, { ...options, durationSeconds: args.duration }));
          break;
        case 'uncached':
          if (fixtures) reports.push(await benchUncached(fixtures, options));
          break;
        case 'pod':
          if (fixtures) reports.push(await benchPod(fixtures, options));
          break;
        case 'burst':
          if (fixtures) reports.push(await benchBurst(fixtures, options));
          break;
        case 'ablate':
          reports.push(await benchAblate({ ...options, durationSeconds: Math.min(args.duration, 5) }));
          break;
        case 'resolve':
          if (fixtures) reports.push(await benchResolve(fixtures, options));
          break;
        case 'rss':
          reports.push(await benchRss({ ...options, requests: args.requests }));
          break;
        case 'memory':
          if (fixtures) reports.push(await benchMemory(fixtures, { ...options, rounds: Math.min(args.rounds, 3), durationSeconds: args.duration }));
          break;
        case 'original':
          reports.push(await benchOriginal({ ...options, durationSeconds: args.duration, verifierFlags: args.verifierFlags }));
          break;
        case 'redis':
          if (fixtures) reports.push(await benchRedis(fixtures, { ...options, durationSeconds: args.duration }));
          break;
      }
    }
  } finally {
    await stop();
  }
  const after = machine();
  console.log(`# Verifier benchmarks\n`);
  console.log(
    `${before.cpu}, ${before.cores} cores, ${before.memoryGiB} GiB, Node ${before.node}; commit ${commit()}; load average ${before.loadAverage} before, ${after.loadAverage} after.`,
  );
  console.log(
    `Servers under test: ${args.compiled ? 'compiled JavaScript (verifier/dist, shared/dist; tsx only for the benchmark shim)' : 'TypeScript under tsx'}.`,
  );
  console.log(
    `Command: pnpm bench -- ${process.argv
      .slice(2)
      .filter((a) => a !== '--')
      .join(' ')}`.trimEnd(),
  );
  printReport(reports);
  if (args.out) {
    writeFileSync(args.out, `${JSON.stringify({ machine: { before, after }, commit: commit(), argv: process.argv.slice(2), reports }, null, 2)}\n`);
    log(`numbers written to ${args.out}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
