// How both notation engines start their child at a lower CPU priority (--notationNiceness; docs/benchmarks.md
// "burst"): notation per verification (runner.ts, spawned by spawner.ts's thread) and the resident helper
// (helper.ts). Through nice(1) when there is one, so that the process, every thread its Go runtime starts and
// every plugin process begin at the lower priority. Without nice(1) the priority is lowered once the process
// has a pid (setpriority(2)), which misses the threads the runtime started before; the container image has
// nice(1), so this is the fallback for hosts without it.
import { getPriority, setPriority } from 'node:os';

export interface PrioritySettings {
  /** Niceness to add (0-19; 0 leaves the priority alone). */
  readonly niceness: number;
  /** nice(1), if there is one. */
  readonly nicePath: string | undefined;
}

export interface LowPriorityCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** nice(1) runs the command (it exits 126 or 127 when it cannot). */
  readonly viaNice: boolean;
  /** What lowerPriority must add once the process has a pid: 0 when nice(1) did it. */
  readonly lowerBy: number;
}

/** The command that starts `file args` at the lower priority. */
export function lowPriorityCommand(file: string, args: readonly string[], { niceness, nicePath }: PrioritySettings): LowPriorityCommand {
  if (niceness > 0 && nicePath !== undefined) return { file: nicePath, args: ['-n', String(niceness), file, ...args], viaNice: true, lowerBy: 0 };
  return { file, args, viaNice: false, lowerBy: Math.max(0, niceness) };
}

/** Lowers a started child's priority by `by` (capped at 19, the lowest); nothing if it is gone already. */
export function lowerPriority(pid: number, by: number): void {
  if (by <= 0) return;
  try {
    setPriority(pid, Math.min(19, getPriority() + by));
  } catch {
    // Gone already: whoever started it hears of its exit.
  }
}
