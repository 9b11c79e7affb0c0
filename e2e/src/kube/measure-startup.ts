// Measures how long a test control plane takes from start to /readyz, cold and warm, and how much
// memory its processes hold when ready:
//
//   node --conditions=source --import tsx e2e/src/kube/measure-startup.ts [--runs 5] [--cold]
//
// --cold first drops the etcd and kube-apiserver binaries from the page cache (`dd iflag=nocache
// count=0`, i.e. posix_fadvise DONTNEED, which leaves pages that a running process maps: another
// control plane on the machine keeps them warm), so the first run pays for reading ~125 MB of
// executables, as the first test after a build or a reboot does. The other runs are warm.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { toolPath } from '../harness/tools-env.js';
import { startControlPlane, type StartTimings } from './controlPlane.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, cold: { type: 'boolean', default: false } } });
const runs = Number(values.runs);

function rssMiB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(line?.[1] ?? 0) / 1024);
}

function residentMiB(file: string): string {
  // fincore (util-linux) reports how much of a file is in the page cache.
  try {
    return execFileSync('fincore', ['--noheadings', '--output', 'RES', file], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

interface Run extends StartTimings {
  readonly label: string;
  readonly stopMs: number;
  readonly apiServerRssMiB: number;
  readonly etcdRssMiB: number;
}

const binaries = [toolPath('etcd'), toolPath('kube-apiserver')];
const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  let label = 'warm';
  if (i === 0 && values.cold) {
    for (const bin of binaries) execFileSync('dd', [`if=${bin}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
    label = `cold (in page cache: ${binaries.map(residentMiB).join(' + ')})`;
  }
  const cp = await startControlPlane();
  const [apiPid = 0, etcdPid = 0] = cp.pids;
  const memory = { apiServerRssMiB: rssMiB(apiPid), etcdRssMiB: rssMiB(etcdPid) };
  const stopStarted = performance.now();
  await cp.stop();
  results.push({ label, ...cp.timings, ...memory, stopMs: Math.round(performance.now() - stopStarted) });
}

console.table(results);
const warm = results.filter((r) => r.label === 'warm').map((r) => r.totalMs);
warm.sort((a, b) => a - b);
const median = warm[Math.floor(warm.length / 2)];
console.log(
  `start to /readyz: ${values.cold ? `cold ${results[0]?.totalMs ?? '?'} ms, ` : ''}warm median ${median ?? '?'} ms` +
    ` (min ${warm[0] ?? '?'}, max ${warm.at(-1) ?? '?'}) over ${warm.length} warm runs`,
);
