// How both notation engines start their child at a lower CPU priority (--notationNiceness; docs/benchmarks.md
// "burst"): notation per verification (runner.ts, spawned by spawner.ts's thread) and the resident helper
// (helper.ts). Through nice(1) when there is one, so that the process, every thread its Go runtime starts and
// every plugin process begin at the lower priority. Without nice(1) the priority is lowered once the process
// has a pid (setpriority(2)), which misses the threads the runtime started before; the container image has
// nice(1), so this is the fallback for hosts without it.
//
// Where the kernel groups processes by session for scheduling (autogroup: Linux with
// kernel.sched_autogroup_enabled=1 and the process in the root CPU cgroup, as on most hosts outside a
// container), a process's niceness only ranks it within its session, and each session gets an equal share of
// the CPU. The helper stays in the verifier's session (ChildSession.Shared; it leads a process group of its
// own for the kill), so its niceness ranks it against the event loop there as in a container, and nothing
// else: a session of its own at a lower niceness would also rank it below every other session of the host
// (docs/benchmarks.md "Where an uncached request's time goes, against the original"). A notation run of the
// CLI engine leads a session of its own (spawn's `detached`: notation cannot make itself a group leader, and
// a kill must reach its plugin processes); that session is given the same niceness through
// /proc/<pid>/autogroup, or it would compete with the verifier as an equal. In a container (a CPU cgroup of
// its own) there is no autogroup and the file's niceness has no effect; without autogroup support the file
// does not exist.
import { writeFile } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';

export interface PrioritySettings {
  /** Niceness to add (0-19; 0 leaves the priority alone). */
  readonly niceness: number;
  /** nice(1), if there is one. */
  readonly nicePath: string | undefined;
}

/** Whether the child is started in a session of its own or in the verifier's. */
export const ChildSession = {
  /** spawn's `detached`: the child leads a new session (the CLI engine's notation runs). */
  Own: 'own',
  /** The verifier's session (the helper, which leads a process group of its own). */
  Shared: 'shared',
} as const;
export type ChildSession = (typeof ChildSession)[keyof typeof ChildSession];

export interface LowPriorityCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** nice(1) runs the command (it exits 126 or 127 when it cannot). */
  readonly viaNice: boolean;
  /** What lowerPriority must add once the process has a pid: 0 when nice(1) did it. */
  readonly lowerBy: number;
  /**
   * The niceness lowerPriority gives the child's session (autogroup) once it has a pid: 0 leaves it alone,
   * and so it is for a child in the verifier's session, whose niceness is the verifier's own.
   */
  readonly sessionNiceness: number;
}

/** The command that starts `file args` at the lower priority, in a session of its own or in the verifier's. */
export function lowPriorityCommand(file: string, args: readonly string[], { niceness, nicePath }: PrioritySettings, session: ChildSession): LowPriorityCommand {
  const sessionNiceness = session === ChildSession.Own ? Math.min(19, Math.max(0, niceness)) : 0;
  if (niceness > 0 && nicePath !== undefined)
    return { file: nicePath, args: ['-n', String(niceness), file, ...args], viaNice: true, lowerBy: 0, sessionNiceness };
  return { file, args, viaNice: false, lowerBy: Math.max(0, niceness), sessionNiceness };
}

/**
 * Lowers a started child's priority as `command` says: its own by `lowerBy` (capped at 19, the lowest) and its
 * session's (autogroup) to `sessionNiceness`. Nothing if it is gone already. The session's niceness is written
 * without waiting; the promise settles when it is written or could not be (see lowerSessionPriority).
 */
export function lowerPriority(pid: number, command: Pick<LowPriorityCommand, 'lowerBy' | 'sessionNiceness'>): Promise<void> {
  if (command.lowerBy > 0) {
    try {
      setPriority(pid, Math.min(19, getPriority() + command.lowerBy));
    } catch {
      // Gone already: whoever started it hears of its exit.
    }
  }
  return command.sessionNiceness > 0 ? lowerSessionPriority(pid, command.sessionNiceness) : Promise.resolve();
}

/** How many times a write the kernel refused as too frequent (EAGAIN) is tried again, 100 ms apart. */
const SESSION_RETRIES = 2;

/**
 * Gives the session (autogroup) that `pid` leads the niceness `niceness`. Raising a niceness needs no privilege,
 * but the kernel accepts such a write from an unprivileged process at most every 100 ms (EAGAIN otherwise),
 * which the CLI engine's runs can exceed: tried again twice, then the run keeps its session's default. No
 * autogroup (no file), a gone process or a refused write leave the priority as it is: the child still runs at
 * its own lower niceness, which is what ranks it wherever there is no autogroup.
 */
async function lowerSessionPriority(pid: number, niceness: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(`/proc/${pid}/autogroup`, String(niceness));
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' || attempt >= SESSION_RETRIES) return;
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }
}
