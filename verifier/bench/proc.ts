// What the kernel says about a process (Linux /proc): resident memory and CPU time, read from
// outside so that measuring a server costs the server nothing.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { procStat } from '../testkit/proc.js';

let ticks: number | undefined;

/** Clock ticks per second (USER_HZ) of /proc/<pid>/stat times. */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Resident set size in bytes (VmRSS), or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuTimes {
  /** user + system seconds of the process itself. */
  readonly self: number;
  /** user + system seconds of its children that it has waited for (notation and its plugin). */
  readonly children: number;
}

/** The process's CPU times (one thread's: threadSchedule). */
export function cpuSeconds(pid: number): CpuTimes {
  // Fields after the command name, numbered from field 3 (state).
  const { fields } = procStat(pid);
  const at = (field: number) => Number(fields[field - 3] ?? 0);
  const hz = clockTicks();
  return { self: (at(14) + at(15)) / hz, children: (at(16) + at(17)) / hz };
}

/**
 * One thread's scheduling (the main thread's id is the pid: its event loop), from `/proc/<pid>/task/<thread>/schedstat` (nanoseconds, unlike `stat`'s clock
 * ticks of 10 ms): the time it ran on a CPU, and the time it was runnable but waited for one (what the
 * rest of the machine costs it).
 */
export function threadSchedule(pid: number, thread: number): { cpuSeconds: number; waitSeconds: number } {
  const [run = '0', wait = '0'] = readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').trim().split(' ');
  return { cpuSeconds: Number(run) / 1e9, waitSeconds: Number(wait) / 1e9 };
}

/** CPU model, cores and load average: what the numbers were measured on. */
export function machine(): { cpu: string; cores: number; memoryGiB: number; loadAverage: string; node: string } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return { cpu, cores, memoryGiB: Math.round(memKb / 1024 / 1024), loadAverage, node: process.version };
}

/** Live child processes of `pid` (not zombies), with their command names; tsx's esbuild service (a server under tsx) is not one of the server's. */
export function liveChildren(pid: number): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { comm, fields } = procStat(entry);
      const [state, ppid] = fields;
      if (state !== 'Z' && Number(ppid) === pid && comm !== 'esbuild') found.push({ pid: Number(entry), comm });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/**
 * CPU seconds spent for `pid` by other processes: its children it has waited for (each notation run with
 * its plugins) plus its live children with theirs (a resident notation helper and the plugins it ran).
 */
export function childrenCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid).children;
  for (const child of liveChildren(pid)) {
    try {
      const times = cpuSeconds(child.pid);
      total += times.self + times.children;
    } catch {
      // Exited between the listing and the read: its time moves to `children` of the next reading.
    }
  }
  return total;
}

/** Resident memory of a server (VmRSS, bytes; NaN when it is gone) and of its live children together (a resident notation helper, plugins it runs). */
export function rssWithChildren(pid: number): { self: number; children: number } {
  const children = liveChildren(pid).reduce((sum, child) => sum + (rssBytes(child.pid) ?? 0), 0);
  return { self: rssBytes(pid) ?? Number.NaN, children };
}
