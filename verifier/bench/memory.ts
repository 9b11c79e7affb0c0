// Memory of the verifier as production runs it: `scripts/container-entrypoint.sh verifier` (what the image
// and `pnpm verifier:prod` run: verifier/dist/main.js under plain node, no TypeScript loader), local mode
// against the signing harness, its default flags otherwise (the notation helper engine). RSS of the node
// process and of its live child processes (the resident notation helper), read from /proc:
//   idle     started and listening, nothing asked yet (the helper is not started before a verification);
//   primed   5 s after the first pod was verified (the helper is resident, the plugin has run);
//   loaded   right after each 50-connection cached load, by tag and pinned by digest, in turns.
// The other benchmarks' `--compiled` servers run under a tsx shim, whose loader costs memory of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Fixtures } from './fixtures.js';
import { podRequest, pushSigned, timedCheck } from './fixtures.js';
import { runLoad } from './loadClient.js';
import { rssWithChildren } from './proc.js';
import { MiB, type BenchOptions, type BenchReport } from './report.js';
import { formatSummary, summarize } from './stats.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRYPOINT = join(ROOT, 'scripts/container-entrypoint.sh');
const COMPILED = join(ROOT, 'verifier/dist/main.js');
const CONNECTIONS = 50;
const SETTLE_MS = 5000;

interface Reading {
  readonly verifierMiB: number;
  readonly helperMiB: number;
}

function reading(pid: number): Reading {
  const { self, children } = rssWithChildren(pid);
  return { verifierMiB: self / MiB, helperMiB: children / MiB };
}

/** The URL of the `verifier listening` log line (the log is flushed at least once a second). */
async function listening(child: ChildProcess, logFile: string): Promise<string> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (child.exitCode !== null) throw new Error(`the verifier exited (${child.exitCode}) before listening; its log: ${logFile}`);
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes('"verifier listening"')) continue;
      const { url } = JSON.parse(line) as { url?: string };
      if (url !== undefined) return url;
    }
    await sleep(100);
  }
  throw new Error(`the verifier did not listen within 60 s; its log: ${logFile}`);
}

export async function benchMemory(fixtures: Fixtures, options: BenchOptions & { durationSeconds: number }): Promise<BenchReport> {
  const { log, dir } = options;
  if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run pnpm build first`);
  const images = await pushSigned(fixtures, 'memory', 3);
  const bodies = { tag: podRequest(images), pinned: podRequest(images, { pinned: true }) };
  const logFile = join(dir, 'memory-verifier.log');
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('sh', [ENTRYPOINT, 'verifier', ...fixtures.verifierFlags], {
      env: { ...fixtures.verifierEnv, KNA_APP_DIR: ROOT, ...(process.env.NODE_OPTIONS !== undefined && { NODE_OPTIONS: process.env.NODE_OPTIONS }) },
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the verifier');
  try {
    const url = await listening(child, logFile);
    await sleep(SETTLE_MS);
    const idle = reading(pid);
    const prime = await timedCheck(url, bodies.tag);
    if (prime.status !== 200) throw new Error(`the verifier did not verify the pod (${prime.status}): ${prime.text}`);
    await sleep(SETTLE_MS);
    const primed = reading(pid);
    log(
      `memory: idle ${idle.verifierMiB.toFixed(1)} MiB + helper ${idle.helperMiB.toFixed(1)}; primed ${primed.verifierMiB.toFixed(1)} + ${primed.helperMiB.toFixed(1)}`,
    );
    const loaded: Record<'tag' | 'pinned', Reading[]> = { tag: [], pinned: [] };
    /** Server CPU per answered request (µs): what a smaller heap may cost in garbage collection. */
    const cpu: Record<'tag' | 'pinned', number[]> = { tag: [], pinned: [] };
    for (let round = 0; round < options.rounds; round++) {
      for (const kind of round % 2 === 0 ? (['tag', 'pinned'] as const) : (['pinned', 'tag'] as const)) {
        const m = await runLoad({ url, connections: CONNECTIONS, durationSeconds: options.durationSeconds, body: bodies[kind] }, pid);
        if (m.non2xx > 0 || m.errors > 0) throw new Error(`memory: ${m.non2xx} non-2xx answers and ${m.errors} errors (${kind})`);
        const r = reading(pid);
        loaded[kind].push(r);
        const cpuPerRequest = (m.serverCpuSeconds * 1e6) / (m.rps * m.durationSeconds);
        cpu[kind].push(cpuPerRequest);
        log(
          `memory: round ${round + 1} ${kind}: ${m.rps.toFixed(0)} req/s, server CPU ${cpuPerRequest.toFixed(0)} µs per request; ` +
            `${r.verifierMiB.toFixed(1)} MiB + helper ${r.helperMiB.toFixed(1)}`,
        );
      }
    }
    const all = [...loaded.tag, ...loaded.pinned];
    const mib = (values: number[]) => formatSummary(summarize(values), 1, ' MiB');
    const row = (label: string, rs: readonly Reading[]) =>
      `| ${label} | ${mib(rs.map((r) => r.verifierMiB))} | ${mib(rs.map((r) => r.helperMiB))} | ${mib(rs.map((r) => r.verifierMiB + r.helperMiB))} |`;
    const total = (r: Reading) => r.verifierMiB + r.helperMiB;
    return {
      name: 'memory',
      target: 'diagnostic: RSS of the production verifier (entrypoint, compiled) and its notation helper, idle and under cached load',
      verdicts: [],
      details: [
        `\`scripts/container-entrypoint.sh verifier\` (node verifier/dist/main.js), local mode, ${options.rounds} rounds of ${CONNECTIONS}-connection cached loads of ${options.durationSeconds} s, ` +
          `by tag and pinned by digest in turns; NODE_OPTIONS ${JSON.stringify(process.env.NODE_OPTIONS ?? '')}. Medians (min–max):`,
        '',
        '| when | verifier (node) | notation helper and its children | total |',
        '|---|---|---|---|',
        row('idle (listening, nothing asked)', [idle]),
        row(`${SETTLE_MS / 1000} s after the first verification`, [primed]),
        row('after each cached load, by tag', loaded.tag),
        row('after each cached load, pinned', loaded.pinned),
        row('after each cached load, both', all),
        '',
        `Server CPU per request: by tag ${formatSummary(summarize(cpu.tag), 0, ' µs')}, pinned ${formatSummary(summarize(cpu.pinned), 0, ' µs')}.`,
      ],
      data: { idle, primed, loaded, cpu, totals: { idle: total(idle), primed: total(primed), loaded: all.map(total) } },
    };
  } finally {
    const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
